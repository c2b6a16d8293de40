"""Writes of the knowledge base: create and edit an article (each save keeps a version), restore an older version,
categories, the count of uses in replies, "was this helpful?" votes, and the search index.

Saving renders the Markdown to sanitised HTML and refreshes the article's tsvector in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from service.access import require_kb_writer
from service.kb_models import Article, ArticleCategory, ArticleLink, ArticleVersion
from service.markdown import render_markdown
from service.models import Ticket
from service.segment import segmented
from service.services.ticket import clean_tags

MAX_RELATED = 10
REINDEX_BATCH = 200

_UPDATE_VECTOR = """
UPDATE service_article AS a
SET search_vector = setweight(to_tsvector('simple', v.title), 'A') || setweight(to_tsvector('simple', v.body), 'B')
FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, title, body)
WHERE a.id = v.id
"""


@dataclass
class ArticleData:
    """What an author fills in."""

    title: str
    body: str
    summary: str = ""
    category: ArticleCategory | None = None
    tags: Iterable[str] = ()
    visibility: str = Article.Visibility.INTERNAL
    status: str = Article.State.DRAFT
    related: Iterable[Article] = field(default_factory=list)


def _slug_for(tenant_id: int, title: str, exclude: int | None = None) -> str:
    """A clean address from the title (Chinese in pinyin: 如何申请退款 → ru-he-shen-qing-tui-kuan), unique in the
    tenant."""
    base = slugify(" ".join(lazy_pinyin(title)))[:100].strip("-") or "article"
    taken = set(
        Article.objects.filter(tenant_id=tenant_id, slug__startswith=base)
        .exclude(pk=exclude)
        .values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check(user: User, data: ArticleData) -> tuple[str, str, list[str], list[Article]]:
    title = (data.title or "").strip()
    body = (data.body or "").strip()
    errors = []
    if not title:
        errors.append(("title", _("Enter a title.")))
    if not body:
        errors.append(("body", _("Write the article's text.")))
    if data.visibility not in Article.Visibility.values:
        errors.append(("visibility", _("Choose who may read the article.")))
    if data.status not in Article.State.values:
        errors.append(("status", _("Choose draft or published.")))
    if data.category is not None and data.category.tenant_id != user.tenant_id:
        errors.append(("category", _("Choose a category.")))
    related = list(data.related)
    if len(related) > MAX_RELATED or any(a.tenant_id != user.tenant_id for a in related):
        errors.append(("related", _("Choose at most %(max)d related articles.") % {"max": MAX_RELATED}))
    if errors:
        raise DomainError.of(errors)
    return title, body, clean_tags(data.tags), related


def article_index(articles: Iterable[Article]) -> int:
    """Refresh the tsvector of `articles`: jieba cuts each title and body here, one UPDATE writes the batch."""
    rows = list(articles)
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            _UPDATE_VECTOR,
            [[a.pk for a in rows], [segmented(a.title) for a in rows], [segmented(a.body) for a in rows]],
        )
        return cursor.rowcount


def articles_reindex(*, tenant_id: int | None = None) -> int:
    """Re-render and re-index every article (of one tenant or all), in batches of one UPDATE each: after a change
    of the segmenter's dictionary or of the sanitiser's rules."""
    qs = Article.objects.all() if tenant_id is None else Article.objects.filter(tenant_id=tenant_id)
    done, last = 0, 0
    while True:
        batch = list(qs.filter(pk__gt=last).order_by("pk").only("pk", "title", "body")[:REINDEX_BATCH])
        if not batch:
            return done
        with transaction.atomic():
            for article in batch:
                article.body_html = render_markdown(article.body)
            Article.objects.bulk_update(batch, ["body_html"])
            done += article_index(batch)
        last = batch[-1].pk


def _set_related(article: Article, related: list[Article]) -> None:
    ArticleLink.objects.filter(article=article).delete()
    ArticleLink.objects.bulk_create(
        [ArticleLink(tenant_id=article.tenant_id, article=article, related=r) for r in related if r.pk != article.pk]
    )


def _snapshot(article: Article, user: User, note: str = "") -> None:
    ArticleVersion.objects.create(
        tenant_id=article.tenant_id,
        article=article,
        number=article.version,
        title=article.title,
        summary=article.summary,
        body=article.body,
        note=note[:200],
        created_by=user,
    )


@transaction.atomic
def article_create(*, acting_user: User, data: ArticleData, source_ticket: Ticket | None = None) -> Article:
    require_kb_writer(acting_user)
    title, body, tags, related = _check(acting_user, data)
    if source_ticket is not None and source_ticket.tenant_id != acting_user.tenant_id:
        source_ticket = None
    now = timezone.now()
    article = Article.objects.create(
        tenant_id=acting_user.tenant_id,
        title=title,
        slug=_slug_for(acting_user.tenant_id, title),
        summary=(data.summary or "").strip(),
        body=body,
        body_html=render_markdown(body),
        category=data.category,
        tags=tags,
        visibility=data.visibility,
        status=data.status,
        published_at=now if data.status == Article.State.PUBLISHED else None,
        created_by=acting_user,
        updated_by=acting_user,
        source_ticket=source_ticket,
    )
    _set_related(article, related)
    _snapshot(article, acting_user)
    article_index([article])
    audit(
        tenant=acting_user.tenant,
        actor=acting_user,
        action="article.create",
        obj=article,
        details={"status": article.status, "visibility": article.visibility, "ticket": article.source_ticket_id},
    )
    return article


@transaction.atomic
def article_update(*, acting_user: User, article: Article, data: ArticleData, note: str = "") -> Article:
    """Save a new version of `article` (the previous one stays in its history)."""
    require_kb_writer(acting_user)
    title, body, tags, related = _check(acting_user, data)
    article = Article.objects.select_for_update().get(pk=article.pk, tenant_id=acting_user.tenant_id)
    changed = [
        name
        for name, new in (
            ("title", title),
            ("summary", (data.summary or "").strip()),
            ("body", body),
            ("category_id", data.category.pk if data.category else None),
            ("tags", tags),
            ("visibility", data.visibility),
            ("status", data.status),
        )
        if getattr(article, name) != new
    ]
    article.title, article.summary, article.body = title, (data.summary or "").strip(), body
    article.body_html = render_markdown(body)
    article.category, article.tags = data.category, tags
    article.visibility, article.status = data.visibility, data.status
    if article.status == Article.State.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
    article.version += 1
    article.updated_by = acting_user
    article.save()
    _set_related(article, related)
    _snapshot(article, acting_user, note)
    article_index([article])
    audit(
        tenant=acting_user.tenant,
        actor=acting_user,
        action="article.update",
        obj=article,
        details={"version": article.version, "fields": changed},
    )
    return article


@transaction.atomic
def article_restore(*, acting_user: User, article: Article, number: int) -> Article:
    """Make an older version the current text again, as a new version (the history keeps everything)."""
    require_kb_writer(acting_user)
    old = ArticleVersion.objects.filter(tenant_id=acting_user.tenant_id, article=article, number=number).first()
    if old is None:
        raise DomainError(_("That version does not exist."))
    data = ArticleData(
        title=old.title,
        body=old.body,
        summary=old.summary,
        category=article.category,
        tags=article.tags,
        visibility=article.visibility,
        status=article.status,
        related=list(article.related.all()),
    )
    restored = article_update(
        acting_user=acting_user, article=article, data=data, note=_("Restored version %(n)d") % {"n": number}
    )
    audit(
        tenant=acting_user.tenant, actor=acting_user, action="article.restore", obj=restored, details={"from": number}
    )
    return restored


def _lock_article(acting_user: User, article: Article) -> Article:
    require_kb_writer(acting_user)
    locked = (
        Article.objects.select_for_update()
        .filter(pk=article.pk, tenant_id=acting_user.tenant_id, deleted_at__isnull=True)
        .first()
    )
    if locked is None:
        raise DomainError(_("This article has been deleted."))
    return locked


@transaction.atomic
def article_archive(*, acting_user: User, article: Article) -> Article:
    """Take an article off the public help centre and the ticket suggestions, keeping it (restorable)."""
    article = _lock_article(acting_user, article)
    if article.archived_at is not None:
        raise DomainError(_("This article is archived already."))
    article.archived_at = timezone.now()
    article.updated_by = acting_user
    article.save(update_fields=["archived_at", "updated_by", "updated_at"])
    audit(tenant=acting_user.tenant, actor=acting_user, action="article.archive", obj=article)
    return article


@transaction.atomic
def article_unarchive(*, acting_user: User, article: Article) -> Article:
    """Bring an archived article back, with the status and visibility it had."""
    article = _lock_article(acting_user, article)
    if article.archived_at is None:
        raise DomainError(_("This article is not archived."))
    article.archived_at = None
    article.updated_by = acting_user
    article.save(update_fields=["archived_at", "updated_by", "updated_at"])
    audit(tenant=acting_user.tenant, actor=acting_user, action="article.unarchive", obj=article)
    return article


@transaction.atomic
def article_delete(*, acting_user: User, article: Article) -> None:
    """Delete an article (soft: it is gone from every page, its row and versions stay for the audit log)."""
    article = _lock_article(acting_user, article)
    article.deleted_at = timezone.now()
    article.updated_by = acting_user
    article.save(update_fields=["deleted_at", "updated_by", "updated_at"])
    audit(
        tenant=acting_user.tenant,
        actor=acting_user,
        action="article.delete",
        obj=article,
        details={"title": article.title, "status": article.status, "visibility": article.visibility},
    )


@transaction.atomic
def article_category_create(*, acting_user: User, name: str) -> ArticleCategory:
    require_kb_writer(acting_user)
    name = (name or "").strip()[:80]
    if not name:
        raise DomainError(_("Enter a name."), field="name")
    if ArticleCategory.objects.filter(tenant_id=acting_user.tenant_id, name=name).exists():
        raise DomainError(_("A category with this name exists."), field="name")
    category = ArticleCategory.objects.create(tenant_id=acting_user.tenant_id, name=name, created_by=acting_user)
    audit(tenant=acting_user.tenant, actor=acting_user, action="article.category", obj=category)
    return category


def article_record_use(*, acting_user: User, article: Article) -> None:
    """An agent put the article into a reply: one atomic increment, no read-modify-write."""
    require_kb_writer(acting_user)
    Article.objects.filter(pk=article.pk, tenant_id=acting_user.tenant_id).update(used_count=F("used_count") + 1)


def article_vote(*, article: Article, helpful: bool) -> None:
    """A reader of the public page says whether the article helped (rate-limited by the view)."""
    column = "helpful_yes" if helpful else "helpful_no"
    Article.objects.filter(pk=article.pk).update(**{column: F(column) + 1})


def draft_from_ticket(ticket: Ticket) -> dict:
    """What "turn this answer into an article" fills in: the question from the ticket, the answer from its last
    public reply."""
    reply = ticket.messages.filter(kind="reply").order_by("-created_at", "-pk").values_list("body", flat=True).first()
    body = "## " + _("Question") + "\n\n" + (ticket.description or ticket.subject).strip() + "\n\n"
    body += "## " + _("Answer") + "\n\n" + (reply or "").strip() + "\n"
    return {"title": ticket.subject, "body": body, "visibility": Article.Visibility.INTERNAL, "tags": ticket.tags}
