"""The public knowledge base of a company (/f/<company>/kb/): its published public articles only, searchable, with
clean addresses (the slug), a title and a meta description, cacheable by browsers and proxies; "was this
helpful?" votes, rate-limited per address and article (django-ratelimit on crm.access.client_ip).

The pages carry no CSRF token and set no cookie, so a shared cache may keep them; the vote is therefore exempt
from CSRF (an anonymous counter, rate-limited) rather than holding a token."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.core import is_ratelimited

from crm.forms import SearchForm
from crm.tenancy import tenant_context
from service.forms.article import VoteForm
from service.kb_models import Article
from service.markdown import plain_text
from service.selectors.article_search import article_search, hits
from service.services.article import article_vote
from service.views.public import _language, _tenant_or_404

logger = logging.getLogger(__name__)

PUBLIC_PAGE_SIZE = 20


def _cacheable(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, public=True, max_age=settings.KB_PUBLIC_MAX_AGE)
    # The language cookie chooses the page's language: a shared cache keeps one copy per cookie.
    patch_vary_headers(response, ["Cookie"])
    return response


@require_GET
def public_kb_list(request: HttpRequest, tenant: str) -> HttpResponse:
    company = _tenant_or_404(tenant)
    with tenant_context(company.pk), translation.override(_language(request, company)):
        text = SearchForm(request.GET).value("q")
        qs = Article.objects.public_of(company)
        words: list[str] = []
        if text:
            qs, words = article_search(qs, text)
        else:
            qs = qs.order_by("-published_at", "pk")
        page = Paginator(qs.select_related("category"), PUBLIC_PAGE_SIZE).get_page(request.GET.get("page"))
        context = {"tenant": company, "page": page, "results": hits(page.object_list, words), "q": text, "root": "./"}
        response = render(request, "service/kb/public/list.html", context)
        response.headers.setdefault("Content-Language", translation.get_language())
    return _cacheable(response)


def _public_article(company, slug: str) -> Article:
    article = Article.objects.public_of(company).select_related("category").filter(slug=slug).first()
    if article is None:
        raise Http404
    return article


@require_GET
def public_kb_article(request: HttpRequest, tenant: str, slug: str) -> HttpResponse:
    company = _tenant_or_404(tenant)
    with tenant_context(company.pk), translation.override(_language(request, company)):
        article = _public_article(company, slug)
        related = (
            Article.objects.public_of(company)
            .filter(pk__in=article.links.values("related_id"))
            .only("slug", "title")
            .order_by("title")
        )
        context = {
            "tenant": company,
            "root": "../",
            "article": article,
            "description": (article.summary or plain_text(article.body))[:160],
            "related": list(related),
            "voted": request.GET.get("voted") in ("yes", "no"),
        }
        response = render(request, "service/kb/public/article.html", context)
        response.headers.setdefault("Content-Language", translation.get_language())
    return _cacheable(response)


@csrf_exempt
@require_POST
def public_kb_vote(request: HttpRequest, tenant: str, slug: str) -> HttpResponse:
    company = _tenant_or_404(tenant)
    with tenant_context(company.pk):
        article = _public_article(company, slug)
        form = VoteForm(request.POST)
        if not form.is_valid():
            return HttpResponse(status=400)
        limited = is_ratelimited(
            request, group=f"service:kbvote:{article.pk}", key="ip", rate=settings.KB_VOTE_RATE, increment=True
        )
        if limited:
            logger.info("Knowledge-base vote on article %s: rate limit reached for an address", article.pk)
        else:
            article_vote(article=article, helpful=form.cleaned_data["helpful"])
    url = reverse("service:public_kb_article", kwargs={"tenant": company.slug, "slug": article.slug})
    response = redirect(f"{url}?voted={'yes' if form.cleaned_data['helpful'] else 'no'}")
    response["Cache-Control"] = "no-store"
    return response
