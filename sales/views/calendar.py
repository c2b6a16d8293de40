"""The week and month calendar."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from crm.access import assignable_users
from crm.models import Role
from crm.web import tenant_required
from crm.workcalendar.selectors import local_today
from sales.forms.calendar import CalendarForm
from sales.selectors.calendar import CalendarItem, calendar_data


def _calendar_range(view: str, anchor: date) -> tuple[date, date]:
    if view == "month":
        first = anchor.replace(day=1)
        start = first - timedelta(days=first.weekday())
        next_month = (first + timedelta(days=32)).replace(day=1)
        end = next_month + timedelta(days=(7 - next_month.weekday()) % 7)
        return start, end
    start = anchor - timedelta(days=anchor.weekday())
    return start, start + timedelta(days=7)


def _shift(view: str, anchor: date, step: int) -> date:
    if view == "month":
        month = anchor.month - 1 + step
        return date(anchor.year + month // 12, month % 12 + 1, 1)
    return anchor + timedelta(days=7 * step)


@tenant_required
def calendar(request: HttpRequest) -> HttpResponse:
    """A person's (or, for a manager, a team's) appointments and tasks by week or by month."""
    user, tenant = request.user, request.tenant
    today = local_today(tenant)
    is_lead = user.has_any_role(Role.MANAGER, Role.ADMIN)
    choices = list(assignable_users(user).order_by("full_name")) if is_lead else [user]
    form = CalendarForm(request.GET, today=today, people=choices, team=is_lead)
    view, anchor, member = form.value("view"), form.value("date"), form.value("member")
    if member == "all":
        people = choices
    elif member:
        people = [p for p in choices if str(p.pk) == member]
    else:
        people = [user]
    start, end = _calendar_range(view, anchor)
    data = calendar_data(user=user, tenant=tenant, people=people, start=start, end=end)
    cells = data["cells"]
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    team = len(people) > 1
    if team:
        rows = [{"person": p, "cells": [{"day": d, "items": cells.get((p.pk, d), [])} for d in days]} for p in people]
        merged: dict[date, list[CalendarItem]] = defaultdict(list)
        for (_person_id, d), items in cells.items():
            for item in items:
                if item not in merged[d]:
                    merged[d].append(item)
        for items in merged.values():
            items.sort(key=lambda i: (i.start, i.obj.pk))
    else:
        rows = []
        merged = {d: cells.get((people[0].pk, d), []) for d in days}
    weeks = [
        [{"day": d, "items": merged.get(d, []), "in_month": d.month == anchor.month} for d in days[i : i + 7]]
        for i in range(0, len(days), 7)
    ]
    context = {
        "view": view,
        "anchor": anchor,
        "today": today,
        "start": start,
        "end": end - timedelta(days=1),
        "days": days,
        "weeks": weeks,
        "rows": rows,
        "team": team,
        "people": people,
        "choices": choices if is_lead else [],
        "member": member,
        "prev": _shift(view, anchor, -1).isoformat(),
        "next": _shift(view, anchor, 1).isoformat(),
        "counts": data,
    }
    return render(request, "sales/calendar.html", context)
