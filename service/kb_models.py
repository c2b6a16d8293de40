"""The knowledge base: articles written in Markdown, their categories, versions and related articles.

`body_html` is the sanitised rendering of `body`, made when the article is saved (service.services.article), so a
page never renders Markdown. `search_vector` holds the title (weight A) and the body (weight B) segmented by
jieba and parsed with the 'simple' configuration: PostgreSQL's own parsers do not cut Chinese into words.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import TenantModel
from service.querysets import ArticleQuerySet


class ArticleCategory(TenantModel):
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        verbose_name = _("article category")
        verbose_name_plural = _("article categories")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="service_kbcategory_unique_name")]

    def __str__(self) -> str:
        return self.name


class Article(TenantModel):
    class Visibility(models.TextChoices):
        INTERNAL = "internal", _("Internal (staff only)")
        PUBLIC = "public", _("Public")

    class State(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("article status", "Draft")
        PUBLISHED = "published", pgettext_lazy("article status", "Published")

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("address"), max_length=120)
    summary = models.CharField(
        _("summary"), max_length=300, blank=True, help_text=_("One or two sentences; search engines show it.")
    )
    body = models.TextField(_("text (Markdown)"))
    body_html = models.TextField(editable=False, default="")
    category = models.ForeignKey(
        ArticleCategory,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="articles",
        verbose_name=_("category"),
    )
    tags = ArrayField(models.CharField(max_length=30), default=list, blank=True, verbose_name=_("tags"))
    visibility = models.CharField(
        _("visibility"), max_length=8, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    status = models.CharField(_("status"), max_length=10, choices=State.choices, default=State.DRAFT)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_by = models.ForeignKey(
        "crm.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    related = models.ManyToManyField(
        "self", through="ArticleLink", symmetrical=False, blank=True, verbose_name=_("related articles")
    )
    source_ticket = models.ForeignKey(
        "service.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    used_count = models.PositiveIntegerField(_("used in replies"), default=0, editable=False)
    helpful_yes = models.PositiveIntegerField(default=0, editable=False)
    helpful_no = models.PositiveIntegerField(default=0, editable=False)
    search_vector = SearchVectorField(null=True, editable=False)
    # Archived: kept and restorable, but off the public help centre and the ticket suggestions, and off the list
    # unless asked for. Deleted: gone for everyone (soft: the row stays for the audit log and links' history).
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="service_article_unique_slug")]
        indexes = [
            GinIndex(fields=["search_vector"], name="service_article_search"),
            GinIndex(fields=["title"], opclasses=["gin_trgm_ops"], name="service_article_title_trgm"),
            models.Index(fields=["tenant", "status", "visibility", "-updated_at"], name="service_article_list_idx"),
            models.Index(fields=["tenant", "category", "-updated_at"], name="service_article_category_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return (
            self.status == self.State.PUBLISHED
            and self.visibility == self.Visibility.PUBLIC
            and self.archived_at is None
            and self.deleted_at is None
        )


class ArticleLink(TenantModel):
    """`article` lists `related` among its related articles."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="links")
    related = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "article", "related"], name="service_articlelink_unique")
        ]


class ArticleVersion(TenantModel):
    """What an article said at one version, and who saved it (`created_by`); the newest is the current text."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("text (Markdown)"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "article", "number"], name="service_articleversion_unique")
        ]
