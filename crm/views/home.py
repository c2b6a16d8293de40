"""The home page: the widgets the apps register."""

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
