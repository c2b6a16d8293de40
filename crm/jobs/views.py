"""Settings → Background jobs: what runs for the company in the background, when it last ran and how it ended."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm.web import admin_required

from .selectors import tenant_jobs


@admin_required
def job_list(request: HttpRequest) -> HttpResponse:
    return render(request, "jobs/run/list.html", {"jobs": tenant_jobs(request.tenant)})
