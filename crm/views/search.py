"""The top bar's search: every registered source (customers, contacts, leads, opportunities), grouped by kind,
each scoped by its app to what the user may see."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.vary import vary_on_headers

from crm.forms import SearchForm
from crm.registry import registry
from crm.web import tenant_required

# Hits shown per kind; the kind's own list page searches further.
HITS_PER_KIND = 8
# Shorter than this, a search would match half the book: nothing is searched.
MIN_LENGTH = 2


@tenant_required
@vary_on_headers("HX-Request")
def global_search(request: HttpRequest) -> HttpResponse:
    text = SearchForm(request.GET).value("q")
    groups = []
    if len(text) >= MIN_LENGTH:
        for source in registry.search_sources_for(request.user):
            hits = source.search(request.user, text, HITS_PER_KIND)
            if hits:
                groups.append({"source": source, "hits": hits})
    context = {"q": text, "groups": groups, "searched": len(text) >= MIN_LENGTH, "min_length": MIN_LENGTH}
    template = "crm/partials/search_results.html" if request.htmx and not request.htmx.boosted else "crm/search.html"
    return render(request, template, context)
