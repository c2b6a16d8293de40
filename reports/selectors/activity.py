"""Activity: follow-ups by kind per day and per person, open tasks past their due time, and customers nobody has
followed up for STALE_DAYS days, per person in scope. Grouped in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from crm.models import Role, User
from crm.workcalendar.selectors import local_midnight, local_today
from customers.models import Customer
from reports.selectors.scope import ReportScope
from sales.models import FollowUp, Task
from sales.models.followup import FollowUpKind

STALE_DAYS = 30


@dataclass
class PersonActivity:
    user: User | None
    by_kind: dict[str, int] = field(default_factory=dict)
    overdue_tasks: int = 0
    stale_customers: int = 0

    @property
    def followups(self) -> int:
        return sum(self.by_kind.values())

    def kinds(self) -> list[int]:
        return [self.by_kind.get(kind, 0) for kind in FollowUpKind.values]


@dataclass
class Activity:
    people: list[PersonActivity] = field(default_factory=list)
    days: list[tuple[dt.date, int]] = field(default_factory=list)
    stale_days: int = STALE_DAYS

    @property
    def kinds(self):
        return FollowUpKind.choices

    def total(self) -> PersonActivity:
        total = PersonActivity(user=None)
        for person in self.people:
            for kind, n in person.by_kind.items():
                total.by_kind[kind] = total.by_kind.get(kind, 0) + n
            total.overdue_tasks += person.overdue_tasks
            total.stale_customers += person.stale_customers
        return total

    def chart(self) -> dict:
        return {"labels": [d.isoformat() for d, _n in self.days], "values": [n for _d, n in self.days]}


def followups(scope: ReportScope):
    return FollowUp.objects.filter(
        tenant_id=scope.user.tenant_id,
        author__in=scope.people_ids(),
        happened_at__gte=scope.period.start_at,
        happened_at__lt=scope.period.end_at,
    )


def overdue_tasks(scope: ReportScope, now: dt.datetime | None = None):
    return Task.objects.filter(
        tenant_id=scope.user.tenant_id,
        assignee__in=scope.people_ids(),
        done_at__isnull=True,
        due_at__lt=now or timezone.now(),
    )


def stale_cutoff(scope: ReportScope, now: dt.datetime | None = None) -> dt.date:
    """The local day from whose midnight on a follow-up keeps a customer fresh: STALE_DAYS days before today."""
    return local_today(scope.tenant, now) - dt.timedelta(days=STALE_DAYS)


def stale_customers(scope: ReportScope, now: dt.datetime | None = None):
    """Customers held by people in scope whose last follow-up (or, never followed up, their taking over) is before
    the midnight STALE_DAYS local days ago (the customer list's "Quiet since" filter counts the same)."""
    cutoff = local_midnight(scope.tenant, stale_cutoff(scope, now))
    return Customer.objects.filter(
        tenant_id=scope.user.tenant_id, owner__in=scope.people_ids(), deleted_at__isnull=True
    ).quiet_since(cutoff)


def activity(scope: ReportScope) -> Activity:
    people: dict[int, PersonActivity] = {}

    def row(pk: int) -> PersonActivity:
        return people.setdefault(pk, PersonActivity(user=None))

    for pk, kind, n in followups(scope).order_by().values_list("author_id", "kind").annotate(n=Count("pk")):
        row(pk).by_kind[kind] = n
    for pk, n in overdue_tasks(scope).order_by().values_list("assignee_id").annotate(n=Count("pk")):
        row(pk).overdue_tasks = n
    for pk, n in stale_customers(scope).order_by().values_list("owner_id").annotate(n=Count("pk")):
        row(pk).stale_customers = n
    per_day = dict(
        followups(scope)
        .annotate(day=TruncDate("happened_at", tzinfo=scope.tenant.tzinfo))
        .order_by()
        .values_list("day")
        .annotate(n=Count("pk"))
    )
    days, day = [], scope.period.start
    while day <= scope.period.end:
        days.append((day, per_day.get(day, 0)))
        day += dt.timedelta(days=1)
    shown = scope.people().filter(Q(pk__in=list(people)) | Q(roles__contains=[Role.REP])).select_related("team")
    for user in shown:
        row(user.pk).user = user
    ranked = sorted(
        (p for p in people.values() if p.user is not None), key=lambda p: (-p.followups, p.user.full_name, p.user.pk)
    )
    return Activity(people=ranked, days=days)
