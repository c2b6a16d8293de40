"""The home page (widgets registered by the apps) and the health check."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm.registry import registry
from crm.web import tenant_required


@tenant_required
def home(request: HttpRequest) -> HttpResponse:
    widgets = []
    for widget in registry.home_widgets_for(request.user):
        widgets.append({"widget": widget, "context": widget.context(request)})
    return render(request, "crm/home.html", {"widgets": widgets})


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
