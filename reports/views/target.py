"""The targets grid (/reports/targets/): a year of monthly targets per person and team, edited in place."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.errors import DomainError
from crm.web import tenant_required
from crm.workcalendar.selectors import local_today
from reports.access import require_targets
from reports.forms.target import TargetGridQuery, cell_name, parse_cells
from reports.models import SalesTarget
from reports.services.target import target_people, target_teams, targets_save


def _grid(user, year: int, field: str, posted=None, errors=None) -> dict:
    months = [dt.date(year, m, 1) for m in range(1, 13)]
    people = list(target_people(user).select_related("team").order_by("team__path", "full_name", "pk"))
    teams = list(target_teams(user).order_by("path"))
    stored = SalesTarget.objects.filter(tenant_id=user.tenant_id, month__year=year).filter(
        user__in=[p.pk for p in people]
    ) | SalesTarget.objects.filter(tenant_id=user.tenant_id, month__year=year, team__in=[t.pk for t in teams])
    values = {}
    for target in stored:
        kind, pk = ("user", target.user_id) if target.user_id else ("team", target.team_id)
        value = target.amount if field == "amount" else target.new_customers
        values[cell_name(kind, pk, target.month)] = "" if value is None else value
    errors = errors or {}

    def row(kind, obj, label, indent):
        cells = []
        for month in months:
            name = cell_name(kind, obj.pk, month)
            value = posted.get(name, "") if posted is not None else values.get(name, "")
            if field == "amount" and value != "" and posted is None:
                value = f"{value:.0f}" if value == value.to_integral() else f"{value}"
            cells.append({"name": name, "value": value, "error": errors.get(name), "month": month})
        total = sum((v for n, v in values.items() if n.startswith(f"cell-{kind}-{obj.pk}-") and v != ""), start=0)
        return {"kind": kind, "obj": obj, "label": label, "indent": indent, "cells": cells, "total": total}

    rows = [row("team", t, t.name, t.depth) for t in teams] + [
        row("user", p, p.full_name or p.email, 0) for p in people
    ]
    return {"months": months, "rows": rows, "year": year, "field": field, "errors": errors, "dashboard": "targets"}


@tenant_required
def targets_view(request: HttpRequest) -> HttpResponse:
    require_targets(request.user)
    today = local_today(request.tenant)
    query = TargetGridQuery(request.GET, today=today)
    year, field = query.value("year"), query.value("field")
    if request.method == "POST":
        values, errors = parse_cells(request.POST, field=field, year=year)
        if not errors:
            try:
                changed = targets_save(acting_user=request.user, field=field, values=values)
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request,
                    ngettext("%(n)d target saved.", "%(n)d targets saved.", changed) % {"n": changed}
                    if changed
                    else _("Nothing changed."),
                )
                return redirect(f"{request.path}?year={year}&field={field}")
        context = _grid(request.user, year, field, posted=request.POST, errors=errors)
        context["years"] = range(today.year - 2, today.year + 2)
        return render(request, "reports/targets.html", context, status=422)
    context = _grid(request.user, year, field)
    context["years"] = range(today.year - 2, today.year + 2)
    return render(request, "reports/targets.html", context)
