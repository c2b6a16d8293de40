"""The calendar grid: a user's (or their team's) tasks and appointments between two days, by local day."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db.models import Prefetch
from django.utils import timezone

from crm.models import User
from crm.workcalendar.selectors import local_midnight
from sales.models import (
    Appointment,
    AppointmentAttendee,
    Task,
)


class CalendarItem:
    """An appointment or a task as shown on one day of the calendar."""

    def __init__(self, *, kind: str, obj, start: datetime, end: datetime | None, people: list[User]):
        self.kind, self.obj, self.start, self.end, self.people = kind, obj, start, end, people
        self.conflict = False

    @property
    def is_appointment(self) -> bool:
        return self.kind == "appointment"


def calendar_data(*, user: User, tenant, people: list[User], start: date, end: date) -> dict:
    """Appointments and tasks of `people` between two local dates: a fixed number of queries however many people
    or days (appointments, their attendees, tasks)."""
    ids = [p.pk for p in people]
    by_id = {p.pk: p for p in people}
    range_start = local_midnight(tenant, start)
    range_end = local_midnight(tenant, end)
    appointments = list(
        Appointment.objects.visible_to(user)
        .live()
        .filter(start_at__lt=range_end, end_at__gt=range_start)
        .involving(ids)
        .select_related("owner", "customer")
        .prefetch_related(Prefetch("attendee_links", queryset=AppointmentAttendee.objects.select_related("user")))
        .order_by("start_at", "pk")
    )
    tasks = list(
        Task.objects.visible_to(user)
        .filter(assignee_id__in=ids, due_at__gte=range_start, due_at__lt=range_end)
        .select_related("assignee", "customer")
        .order_by("due_at", "pk")
    )
    tz = tenant.tzinfo
    # cells[(person_id, day)] → items; one person's appointments overlapping each other are flagged.
    cells: dict[tuple[int, date], list[CalendarItem]] = defaultdict(list)
    per_person: dict[int, list[CalendarItem]] = defaultdict(list)
    for appointment in appointments:
        involved = [appointment.owner] + [link.user for link in appointment.attendee_links.all()]
        shown = [u for u in involved if u.pk in by_id]
        local_start = timezone.localtime(appointment.start_at, tz)
        local_end = timezone.localtime(appointment.end_at, tz)
        for person in shown:
            item = CalendarItem(
                kind="appointment", obj=appointment, start=appointment.start_at, end=appointment.end_at, people=involved
            )
            per_person[person.pk].append(item)
            day = max(local_start.date(), start)
            last = min((local_end - timedelta(microseconds=1)).date(), end - timedelta(days=1))
            while day <= last:
                cells[(person.pk, day)].append(item)
                day += timedelta(days=1)
    for items in per_person.values():
        items.sort(key=lambda i: (i.start, i.obj.pk))
        for i, item in enumerate(items):
            for other in items[i + 1 :]:
                if other.start >= item.end:
                    break
                item.conflict = other.conflict = True
    for task in tasks:
        item = CalendarItem(kind="task", obj=task, start=task.due_at, end=None, people=[task.assignee])
        cells[(task.assignee_id, timezone.localtime(task.due_at, tz).date())].append(item)
    for items in cells.values():
        items.sort(key=lambda i: (i.start, i.kind != "appointment", i.obj.pk))
    return {"cells": cells, "appointment_count": len(appointments), "task_count": len(tasks)}
