"""The knowledge base's articles: Markdown rendered safe, versions and restore, the Chinese and English search
(jieba words in a weighted tsvector, trigram for typos), internal articles never public, the reindex command."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from crm.errors import DomainError
from crm.models import AuditEvent
from service.kb_models import Article, ArticleVersion
from service.markdown import render_markdown
from service.selectors.article_search import article_search, hits
from service.services.article import (
    ArticleData,
    article_create,
    article_record_use,
    article_restore,
    article_update,
    article_vote,
    articles_reindex,
)

PUBLIC, INTERNAL = Article.Visibility.PUBLIC, Article.Visibility.INTERNAL
PUBLISHED, DRAFT = Article.State.PUBLISHED, Article.State.DRAFT


def write(user, title, body="正文。", *, visibility=PUBLIC, status=PUBLISHED, **kw):
    data = ArticleData(title=title, body=body, visibility=visibility, status=status, **kw)
    return article_create(acting_user=user, data=data)


def found(qs, text):
    result, _words = article_search(qs, text)
    return [a.title for a in result]


XSS = [
    ("<script>alert(1)</script>", "<script"),
    ("[click](javascript:alert(1))", 'href="javascript'),
    ('<img src="x" onerror="alert(1)">', "<img"),
    ("![a](javascript:alert(1))", 'src="javascript'),
    ('<a href="https://e.example" onclick="alert(1)">x</a>', "<a "),
    ("<iframe src=//evil.example></iframe>", "<iframe"),
    ("[x](JaVaScRiPt:alert(1))", "href="),
    ("<svg/onload=alert(1)>", "<svg"),
]


@pytest.mark.parametrize(("payload", "forbidden"), XSS)
def test_markdown_payloads_render_inert(payload, forbidden):
    html = render_markdown(payload)
    assert forbidden.lower() not in html.lower()
    for tag in re.findall(r"<[^>]+>", html):  # what the browser parses as markup: no handler, no script URL
        assert not re.search(r"\son\w+=|javascript:|<script|<iframe|<svg", tag, re.IGNORECASE)


def test_markdown_keeps_formatting_and_safe_links():
    html = render_markdown("# 退款\n\n**注意** [帮助](https://help.example/a)\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<h1>退款</h1>" in html and "<strong>注意</strong>" in html and "<table>" in html
    assert 'href="https://help.example/a"' in html and 'rel="noopener noreferrer nofollow"' in html


@pytest.mark.django_db
def test_chinese_word_finds_the_article_and_title_ranks_above_body(world_a):
    refund = write(world_a.agent, "如何申请退款", "在订单页面点击申请。")
    other = write(world_a.agent, "发票问题", "开票后如需退款，请先作废发票。")
    write(world_a.agent, "修改收货地址", "在个人中心修改。")
    qs = Article.objects.visible_to(world_a.agent)
    assert found(qs, "退款") == [refund.title, other.title]
    assert found(qs, "申请退款") == [refund.title]
    assert found(qs, "退") == [refund.title, other.title]  # a prefix of a word
    assert refund.slug == "ru-he-shen-qing-tui-kuan"


@pytest.mark.django_db
def test_english_article_found_by_its_words_and_a_typo(world_a):
    article = write(world_a.agent, "How to reset your password", "Open Settings, then choose Security.")
    write(world_a.agent, "Shipping times", "Orders leave the warehouse within two days.")
    qs = Article.objects.visible_to(world_a.agent)
    assert found(qs, "reset password") == [article.title]
    assert found(qs, "Security") == [article.title]
    assert found(qs, "pasword") == [article.title]  # trigram similarity on the title
    assert found(qs, "warehouse password") == []  # every word must match


@pytest.mark.django_db
def test_highlight_escapes_everything_but_marks(world_a):
    article = write(world_a.agent, "<b>退款</b> 指南", "退款 <script>alert(1)</script>")
    qs, words = article_search(Article.objects.visible_to(world_a.agent), "退款")
    (hit,) = hits(qs, words)
    assert hit.article == article
    assert str(hit.title) == "&lt;b&gt;<mark>退款</mark>&lt;/b&gt; 指南"
    assert "<script>" not in str(hit.snippet) and "<mark>退款</mark>" in str(hit.snippet)


@pytest.mark.django_db
def test_internal_and_draft_articles_never_public(world_a, world_b):
    write(world_a.agent, "退款政策（公开）")
    write(world_a.agent, "退款审批流程（内部）", visibility=INTERNAL)
    write(world_a.agent, "退款草稿", status=DRAFT)
    write(world_b.agent, "退款 B 公司")
    assert found(Article.objects.public_of(world_a.tenant), "退款") == ["退款政策（公开）"]
    assert sorted(found(Article.objects.visible_to(world_a.rep1), "退款")) == [
        "退款审批流程（内部）",
        "退款政策（公开）",
    ]
    assert len(found(Article.objects.visible_to(world_a.agent), "退款")) == 3
    assert Article.objects.visible_to(None).count() == 0 and Article.objects.public_of(None).count() == 0


@pytest.mark.django_db
def test_versions_are_kept_and_an_older_one_restored(world_a):
    article = write(world_a.agent, "退款时效", "三个工作日内到账。")
    article = article_update(
        acting_user=world_a.admin,
        article=article,
        data=ArticleData(title="退款时效说明", body="五个工作日内到账。", visibility=PUBLIC, status=PUBLISHED),
        note="时效调整",
    )
    versions = list(ArticleVersion.objects.filter(article=article).order_by("number"))
    assert [(v.number, v.created_by, v.body) for v in versions] == [
        (1, world_a.agent, "三个工作日内到账。"),
        (2, world_a.admin, "五个工作日内到账。"),
    ]
    assert versions[1].note == "时效调整"
    restored = article_restore(acting_user=world_a.agent, article=article, number=1)
    assert (restored.version, restored.title, restored.body) == (3, "退款时效", "三个工作日内到账。")
    assert "三个工作日" in restored.body_html
    assert found(Article.objects.visible_to(world_a.agent), "说明") == []  # the index follows the restore
    actions = set(AuditEvent.objects.filter(object_id=str(article.pk)).values_list("action", flat=True))
    assert actions == {"article.create", "article.update", "article.restore"}
    with pytest.raises(DomainError):
        article_restore(acting_user=world_a.agent, article=article, number=99)


@pytest.mark.django_db
def test_only_the_desk_writes_and_bad_input_saves_nothing(world_a, world_b):
    with pytest.raises(PermissionDenied):
        write(world_a.rep1, "退款")
    with pytest.raises(DomainError) as refused:
        write(world_a.agent, " ", "")
    assert {f for f, _m in refused.value.errors} == {"title", "body"}
    foreign = write(world_b.agent, "B 的文章")
    with pytest.raises(DomainError):
        write(world_a.agent, "关联", related=[foreign])
    assert Article.objects.filter(tenant=world_a.tenant).count() == 0


@pytest.mark.django_db
def test_related_articles_slugs_and_counters(world_a):
    first = write(world_a.agent, "如何申请退款")
    second = write(world_a.agent, "如何申请退款", related=[first])
    assert second.slug == "ru-he-shen-qing-tui-kuan-2"
    assert list(second.related.all()) == [first]
    article_record_use(acting_user=world_a.agent, article=first)
    article_record_use(acting_user=world_a.agent, article=first)
    article_vote(article=first, helpful=True)
    article_vote(article=first, helpful=False)
    first.refresh_from_db()
    assert (first.used_count, first.helpful_yes, first.helpful_no) == (2, 1, 1)


@pytest.mark.django_db
def test_reindex_rebuilds_vectors_set_based(world_a, world_b, django_assert_max_num_queries):
    for n in range(5):
        write(world_a.agent, f"退款规则 {n}")
    write(world_b.agent, "退款规则 B")
    Article.objects.update(search_vector=None, body_html="")
    with django_assert_max_num_queries(6):
        assert articles_reindex(tenant_id=world_a.tenant.pk) == 5
    assert len(found(Article.objects.public_of(world_a.tenant), "退款")) == 5
    call_command("kb_reindex", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not Article.objects.filter(search_vector__isnull=True).exists()
    assert not Article.objects.filter(body_html="").exists()
