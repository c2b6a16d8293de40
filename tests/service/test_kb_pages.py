"""The knowledge-base pages: /kb/ inside (read by everyone of the company, written by the desk), the public pages
/f/<company>/kb/ (published public articles only, cacheable, bounded queries, votes rate-limited), suggestions on
a ticket with the count of uses, and a draft from a resolved ticket's answer."""

import pytest
from django.test import Client, override_settings

from service.kb_models import Article, ArticleCategory
from service.services.article import ArticleData, article_create
from service.services.ticket import ticket_reply, ticket_set_status

from .helpers import make_customer, make_ticket

PUBLIC, INTERNAL = Article.Visibility.PUBLIC, Article.Visibility.INTERNAL


def write(user, title, body="正文。", visibility=PUBLIC, status=Article.State.PUBLISHED, **kw):
    return article_create(
        acting_user=user, data=ArticleData(title=title, body=body, visibility=visibility, status=status, **kw)
    )


def form_data(**extra):
    data = {
        "title": "如何申请退款",
        "summary": "",
        "body": "在订单页面点击**申请退款**。",
        "category": "",
        "tags": "退款, 订单",
    }
    data.update({"visibility": "public", "status": "published"})
    data.update(extra)
    return data


@pytest.mark.django_db
def test_an_agent_writes_edits_and_restores(world_a, client_for):
    client = client_for(world_a.agent)
    category = ArticleCategory.objects.create(tenant=world_a.tenant, name="售后")
    response = client.post("/kb/new/", form_data(category=category.pk))
    article = Article.objects.get(tenant=world_a.tenant)
    assert response.status_code == 302 and response["Location"] == f"/kb/{article.pk}/"
    page = client.get(f"/kb/{article.pk}/")
    assert page.status_code == 200 and "<strong>申请退款</strong>" in page.content.decode()
    client.post(f"/kb/{article.pk}/edit/", form_data(body="新的说明", note="更新"))
    article.refresh_from_db()
    assert (article.version, article.body, article.category) == (2, "新的说明", None)
    client.post(f"/kb/{article.pk}/versions/1/restore/")
    article.refresh_from_db()
    assert (article.version, article.body) == (3, "在订单页面点击**申请退款**。")
    bad = client.post("/kb/new/", form_data(title=""))
    assert bad.status_code == 422 and Article.objects.count() == 1


@pytest.mark.django_db
def test_reps_read_but_do_not_write_and_drafts_stay_with_the_desk(world_a, client_for):
    internal = write(world_a.agent, "内部审批流程", visibility=INTERNAL)
    draft = write(world_a.agent, "退款草稿", status=Article.State.DRAFT)
    rep = client_for(world_a.rep1)
    assert rep.get(f"/kb/{internal.pk}/").status_code == 200
    assert rep.get(f"/kb/{draft.pk}/").status_code == 404
    assert rep.get("/kb/new/").status_code == 403
    assert rep.post(f"/kb/{internal.pk}/edit/", form_data()).status_code == 403
    listing = rep.get("/kb/").content.decode()
    assert "内部审批流程" in listing and "退款草稿" not in listing


@pytest.mark.django_db
def test_the_list_searches_with_highlights_and_bounded_queries(world_a, client_for, django_assert_max_num_queries):
    for n in range(30):
        write(world_a.agent, f"如何申请退款 {n}", body="退款将在三个工作日内到账。" * 3)
    write(world_a.agent, "<img src=x onerror=alert(1)> 退款", body="<script>alert(1)</script>")
    client = client_for(world_a.agent)
    with django_assert_max_num_queries(12):
        page = client.get("/kb/", {"q": "退款"})
    html = page.content.decode()
    assert page.status_code == 200 and "<mark>退款</mark>" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    partial = client.get("/kb/", {"q": "zzzz"}, HTTP_HX_REQUEST="true")
    assert "No article matches these words." in partial.content.decode() and "<html" not in partial.content.decode()
    assert client.get("/kb/", {"category": "999999", "status": "bogus"}).status_code == 200


@pytest.mark.django_db
def test_another_companys_articles_are_404_inside(world_a, world_b, client_for):
    article = write(world_a.agent, "A 的文章")
    other = client_for(world_b.admin)
    for url in (f"/kb/{article.pk}/", f"/kb/{article.pk}/edit/"):
        assert other.get(url).status_code == 404
    for url in (f"/kb/{article.pk}/use/", f"/kb/{article.pk}/versions/1/restore/"):
        assert other.post(url).status_code == 404
    article.refresh_from_db()
    assert (article.used_count, article.version) == (0, 1)


@pytest.mark.django_db
def test_public_pages_show_only_published_public_articles_of_that_company(world_a, world_b):
    public = write(world_a.agent, "如何申请退款", summary="退款申请步骤。")
    internal = write(world_a.agent, "退款内部审批", visibility=INTERNAL)
    draft = write(world_a.agent, "退款草稿", status=Article.State.DRAFT)
    foreign = write(world_b.agent, "B 公司退款")
    client = Client()
    listing = client.get(f"/f/{world_a.tenant.slug}/kb/", {"q": "退款"})
    html = listing.content.decode()
    assert listing.status_code == 200 and "如何申请<mark>退款</mark>" in html
    assert "内部审批" not in html and "草稿" not in html and "B 公司" not in html
    assert "public" in listing["Cache-Control"] and "max-age=" in listing["Cache-Control"]
    assert "Cookie" in listing["Vary"]
    assert "csrfmiddlewaretoken" not in html and "Set-Cookie" not in listing.headers
    page = client.get(f"/f/{world_a.tenant.slug}/kb/{public.slug}/")
    html = page.content.decode()
    assert page.status_code == 200 and '<meta name="description" content="退款申请步骤。">' in html
    assert "<title>如何申请退款</title>" in html and "noindex" not in html and 'action="vote/"' in html
    # Guessed slugs: internal, draft, another company's, and this company's article under the other's address.
    for tenant, slug in (
        (world_a.tenant.slug, internal.slug),
        (world_a.tenant.slug, draft.slug),
        (world_a.tenant.slug, foreign.slug),
        (world_b.tenant.slug, public.slug),
        ("no-such-company", public.slug),
    ):
        assert client.get(f"/f/{tenant}/kb/{slug}/").status_code == 404
    assert client.get(f"/f/{world_a.tenant.slug}/kb/{internal.pk}/").status_code == 404


@pytest.mark.django_db
def test_public_pages_bounded_queries(world_a, django_assert_max_num_queries):
    for n in range(40):
        write(world_a.agent, f"常见问题 {n}", related=[])
    article = Article.objects.filter(tenant=world_a.tenant).first()
    client = Client()
    with django_assert_max_num_queries(6):
        assert client.get(f"/f/{world_a.tenant.slug}/kb/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(f"/f/{world_a.tenant.slug}/kb/", {"q": "常见问题"}).status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(f"/f/{world_a.tenant.slug}/kb/{article.slug}/").status_code == 200


@pytest.mark.django_db
@override_settings(KB_VOTE_RATE="2/h")
def test_votes_are_counted_and_rate_limited_per_address_and_article(world_a, redis_test_db):
    article = write(world_a.agent, "如何申请退款")
    other = write(world_a.agent, "如何开发票")
    url = f"/f/{world_a.tenant.slug}/kb/{article.slug}/vote/"
    client = Client()
    for _n in range(4):
        response = client.post(url, {"helpful": "yes"}, REMOTE_ADDR="10.1.1.1")
        assert response.status_code == 302 and response["Location"].endswith("?voted=yes")
    client.post(url, {"helpful": "no"}, REMOTE_ADDR="10.1.1.2")
    client.post(f"/f/{world_a.tenant.slug}/kb/{other.slug}/vote/", {"helpful": "yes"}, REMOTE_ADDR="10.1.1.1")
    assert client.post(url, {"helpful": "maybe"}, REMOTE_ADDR="10.1.1.3").status_code == 400
    article.refresh_from_db()
    other.refresh_from_db()
    assert (article.helpful_yes, article.helpful_no, other.helpful_yes) == (2, 1, 1)
    internal = write(world_a.agent, "内部", visibility=INTERNAL)
    assert client.post(f"/f/{world_a.tenant.slug}/kb/{internal.slug}/vote/", {"helpful": "yes"}).status_code == 404


@pytest.mark.django_db
def test_a_ticket_suggests_articles_and_counts_their_use(world_a, world_b, client_for, django_assert_max_num_queries):
    refund = write(world_a.agent, "如何申请退款", body="在订单页面点击申请退款。")
    write(world_a.agent, "修改收货地址", body="在个人中心修改。")
    write(world_a.agent, "退款草稿", status=Article.State.DRAFT)
    write(world_b.agent, "B 公司退款说明")
    customer, contact = make_customer(world_a.rep1)
    ticket = make_ticket(world_a, customer, contact, subject="申请退款", description="上周的订单想退款，怎么操作？")
    client = client_for(world_a.agent)
    detail = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f"/tickets/{ticket.pk}/articles/" in detail
    for n in range(20):
        write(world_a.agent, f"退款常见问题 {n}")
    with django_assert_max_num_queries(10):
        html = client.get(f"/tickets/{ticket.pk}/articles/").content.decode()
    assert html.count('data-testid="kb-suggestion"') == 5
    assert "如何申请退款" in html and "修改收货地址" not in html and "草稿" not in html and "B 公司" not in html
    assert f'data-kb-use="/kb/{refund.pk}/use/"' in html
    assert client.post(f"/kb/{refund.pk}/use/").status_code == 204
    refund.refresh_from_db()
    assert refund.used_count == 1
    assert client_for(world_b.agent).get(f"/tickets/{ticket.pk}/articles/").status_code == 404


@pytest.mark.django_db
def test_a_resolved_tickets_answer_prefills_a_draft(world_a, client_for):
    customer, contact = make_customer(world_a.rep1)
    ticket = make_ticket(world_a, customer, contact, subject="发票抬头写错", description="发票抬头需要修改。")
    ticket_reply(acting_user=world_a.agent, ticket=ticket, body="请在发票页面点击重开发票。", public=True)
    client = client_for(world_a.agent)
    assert "ticket-to-article" not in client.get(f"/tickets/{ticket.pk}/articles/").content.decode()
    ticket_set_status(acting_user=world_a.agent, ticket=ticket, status="resolved")
    assert "ticket-to-article" in client.get(f"/tickets/{ticket.pk}/articles/").content.decode()
    form = client.get("/kb/new/", {"ticket": ticket.pk}).content.decode()
    assert "发票抬头写错" in form and "请在发票页面点击重开发票。" in form and "发票抬头需要修改。" in form
    client.post(f"/kb/new/?ticket={ticket.pk}", form_data(title="发票抬头写错怎么办", status="draft"))
    article = Article.objects.get(title="发票抬头写错怎么办")
    assert article.source_ticket == ticket and article.status == "draft"
    assert client.get("/kb/new/", {"ticket": "abc"}).status_code == 200
