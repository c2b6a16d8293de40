"""The knowledge base inside (/kb/): the list with its search, an article with its versions, write and edit,
restore a version, categories; a ticket's suggested articles and the count of their use in replies."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.web import PAGE_SIZE, CappedPaginator, apply_domain_error, domain_action, form_status, tenant_required
from service.access import get_article_for_user, get_ticket_for_user, require_kb_writer, works_desk
from service.forms.article import ARCHIVED, ArticleForm, ArticleQueryForm, CategoryForm
from service.kb_models import Article, ArticleCategory
from service.models import Status
from service.selectors.article_search import article_search, hits, suggestions_for_ticket
from service.services.article import (
    ArticleData,
    article_archive,
    article_category_create,
    article_create,
    article_delete,
    article_record_use,
    article_restore,
    article_unarchive,
    article_update,
    draft_from_ticket,
)


@tenant_required
@vary_on_headers("HX-Request")
def article_list(request: HttpRequest) -> HttpResponse:
    query = ArticleQueryForm(request.GET, tenant_id=request.tenant.pk)
    qs = Article.objects.visible_to(request.user)
    archived = query.value("status") == ARCHIVED
    qs = qs.filter(archived_at__isnull=not archived)
    for name in ("category", "status", "visibility"):
        if (value := query.value(name)) and not (name == "status" and archived):
            qs = qs.filter(**{name: value})
    text = query.value("q")
    words: list[str] = []
    if text:
        qs, words = article_search(qs, text)
    else:
        qs = qs.order_by("-updated_at", "pk")
    page = CappedPaginator(qs.select_related("category"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "results": hits(page.object_list, words),
        "query": query,
        "q": text,
        "categories": list(ArticleCategory.objects.filter(tenant_id=request.tenant.pk)),
        "can_write": works_desk(request.user),
        "category_form": CategoryForm(),
    }
    template = "service/kb/_results.html" if request.htmx else "service/kb/list.html"
    return render(request, template, context)


def _data(cleaned: dict) -> ArticleData:
    return ArticleData(
        title=cleaned["title"],
        body=cleaned["body"],
        summary=cleaned["summary"],
        category=cleaned["category"],
        tags=cleaned["tags"],
        visibility=cleaned["visibility"],
        status=cleaned["status"],
        related=list(cleaned["related"]),
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def article_create_view(request: HttpRequest) -> HttpResponse:
    require_kb_writer(request.user)
    ticket = None
    initial = {}
    if ticket_id := request.GET.get("ticket", ""):
        if ticket_id.isdigit() and len(ticket_id) < 12:
            ticket = get_ticket_for_user(request.user, int(ticket_id))
            initial = draft_from_ticket(ticket)
    form = ArticleForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            article = article_create(acting_user=request.user, data=_data(form.cleaned_data), source_ticket=ticket)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Article saved."))
            return redirect("service:kb_detail", pk=article.pk)
    context = {"form": form, "ticket": ticket}
    return render(request, "service/kb/form.html", context, status=form_status(form))


@tenant_required
@require_http_methods(["GET", "POST"])
def article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_article_for_user(request.user, pk)
    require_kb_writer(request.user)
    initial = {
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "category": article.category,
        "tags": article.tags,
        "visibility": article.visibility,
        "status": article.status,
        "related": list(article.related.values_list("pk", flat=True)),
    }
    form = ArticleForm(request.POST or None, user=request.user, article=article, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            article_update(
                acting_user=request.user, article=article, data=_data(form.cleaned_data), note=form.cleaned_data["note"]
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Article saved."))
            return redirect("service:kb_detail", pk=article.pk)
    return render(request, "service/kb/form.html", {"form": form, "article": article}, status=form_status(form))


@tenant_required
@require_GET
def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_article_for_user(request.user, pk)
    related = Article.objects.visible_to(request.user).filter(pk__in=article.links.values("related_id"))
    context = {
        "article": article,
        "related": list(related.only("pk", "title", "status", "visibility").order_by("title")),
        "versions": list(article.versions.select_related("created_by").order_by("-number")[:50]),
        "can_write": works_desk(request.user),
    }
    return render(request, "service/kb/detail.html", context)


@tenant_required
@require_POST
def article_restore_view(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    article = get_article_for_user(request.user, pk)
    return domain_action(
        request,
        lambda: article_restore(acting_user=request.user, article=article, number=number),
        success=_("Version %(n)d restored as the current text.") % {"n": number},
        then=reverse("service:kb_detail", kwargs={"pk": article.pk}),
    )


@tenant_required
@require_POST
def article_archive_view(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_article_for_user(request.user, pk)
    return domain_action(
        request,
        lambda: article_archive(acting_user=request.user, article=article),
        success=_("Article archived: it no longer shows in the help centre or in suggestions."),
        then=reverse("service:kb_detail", kwargs={"pk": article.pk}),
    )


@tenant_required
@require_POST
def article_unarchive_view(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_article_for_user(request.user, pk)
    return domain_action(
        request,
        lambda: article_unarchive(acting_user=request.user, article=article),
        success=_("Article brought back from the archive."),
        then=reverse("service:kb_detail", kwargs={"pk": article.pk}),
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def article_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The confirmation page (GET) and the deletion (POST)."""
    article = get_article_for_user(request.user, pk)
    require_kb_writer(request.user)
    if request.method == "POST":
        return domain_action(
            request,
            lambda: article_delete(acting_user=request.user, article=article),
            success=_("Article “%(title)s” deleted.") % {"title": article.title},
            then="service:kb_list",
        )
    return render(request, "service/kb/delete.html", {"article": article})


@tenant_required
@require_POST
def article_category_create_view(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a name."))
        return redirect("service:kb_list")
    return domain_action(
        request,
        lambda: article_category_create(acting_user=request.user, name=form.cleaned_data["name"]),
        success=_("Category added."),
        then="service:kb_list",
    )


@tenant_required
@require_POST
def article_use(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent inserted the article into a reply (the page's script posts here): count it."""
    article = get_article_for_user(request.user, pk)
    article_record_use(acting_user=request.user, article=article)
    return HttpResponse(status=204)


@tenant_required
@require_GET
def ticket_suggestions(request: HttpRequest, pk: int) -> HttpResponse:
    """The articles suggested for a ticket (loaded into the ticket page by htmx)."""
    ticket = get_ticket_for_user(request.user, pk)
    published = Article.objects.visible_to(request.user).current()
    context = {
        "ticket": ticket,
        "suggestions": suggestions_for_ticket(published, ticket),
        "can_write": works_desk(request.user),
        "resolved": ticket.status in (Status.RESOLVED, Status.CLOSED),
    }
    return render(request, "service/kb/suggestions.html", context)
