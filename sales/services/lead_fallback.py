"""The lead fall-back job and its warning ladder: set-based, idempotent, one tenant at a time; both select with the
one predicate (sales.selectors.lead_pool.lead_fallback_due)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext_lazy
from psycopg2.extras import execute_values

from crm.access import managers_lookup
from crm.models import Tenant, User
from crm.selectors.pool_limits import warning_recipients
from crm.services.audit import audit
from crm.services.job import job_run_once_today
from crm.services.notification import lazy_format, notify
from crm.services.pool_fallback import LEADS, fallback_digests, fallback_move
from crm.workcalendar.selectors import local_today
from sales.selectors.lead_pool import lead_fallback_due, lead_pools_with_rules, lead_warning_rows

WARN_LOCAL_HOUR = 9


def lead_fallback_run(*, tenant: Tenant, now: dt.datetime | None = None) -> int:
    """Move every lead the predicate selects back to its home lead pool: per pool one set-based UPDATE … RETURNING
    feeding the insert of LeadOwnershipEvents (crm.services.pool_fallback, shared with the customer fall-back; no
    Python loop over leads), then one digest per former owner, all in one transaction. Idempotent and safe
    concurrently: only rows still owned move, rows another run locked are skipped."""
    now = now or timezone.now()
    with transaction.atomic():
        moved: dict[int, list[tuple[int, str]]] = defaultdict(list)
        total = 0
        for pool in lead_pools_with_rules(tenant):
            for owner_id, items in fallback_move(
                tables=LEADS, tenant_id=tenant.pk, pool_id=pool.pk, due=lead_fallback_due(pool, now=now), now=now
            ).items():
                moved[owner_id] += items
                total += len(items)
        if total:
            audit(tenant=tenant, actor=None, action="lead_pool.fallback", details={"leads": total})
        fallback_digests(
            tenant_id=tenant.pk,
            moved=moved,
            title=lambda count: lazy_format(
                ngettext_lazy(
                    "%(count)d lead fell back to the lead pool", "%(count)d leads fell back to the lead pool", count
                ),
                count=count,
            ),
            url=reverse("sales:lead_pool_list"),
            key=lambda owner_id, items: f"lead-fallback:{now:%Y%m%d%H%M}:{owner_id}:{min(pk for pk, _n in items)}",
            email=False,
        )
    return total


def lead_warning_candidates(tenant: Tenant, now: dt.datetime) -> list[tuple[int, int, dt.datetime, str, str, int]]:
    """What the warning ladder would warn about now in every lead pool of the tenant (sent or not)."""
    rows = []
    for pool in lead_pools_with_rules(tenant):
        rows += lead_warning_rows(pool, now=now)
    return rows


def lead_warn_run(*, tenant: Tenant, now: dt.datetime | None = None, force: bool = False) -> int:
    """The warning ladder for leads: each owner is told, once per lead and step in an ownership period (a unique
    row), in one digest a day; on the last day the owner's manager is told too (as for customers). Scheduled hourly; acts once a day per tenant, after 09:00 tenant-local time."""
    now = now or timezone.now()
    if not force and timezone.localtime(now, tenant.tzinfo).hour < WARN_LOCAL_HOUR:
        return 0
    with transaction.atomic():
        today = local_today(tenant, now)
        if not force and not job_run_once_today(tenant=tenant, job="warn_before_lead_fallback", day=today):
            return 0
        candidates = lead_warning_candidates(tenant, now)
        if not candidates:
            return 0
        with connection.cursor() as cursor:
            inserted = execute_values(
                cursor.cursor,
                """
                INSERT INTO sales_leadfallbackwarning
                    (tenant_id, lead_id, owner_id, owned_since, step, due_on, created_at, updated_at, created_by_id)
                VALUES %s
                ON CONFLICT (tenant_id, lead_id, owned_since, step) DO NOTHING
                RETURNING lead_id, step
                """,
                [
                    (tenant.pk, pk, owner, since, step, today + dt.timedelta(days=days), now, now, None)
                    for pk, owner, since, _name, step, days in candidates
                ],
                fetch=True,
            )
        new = {(row[0], row[1]) for row in inserted}
        items = [(pk, owner, name, step) for pk, owner, _since, name, step, _days in candidates if (pk, step) in new]
        _warn_people(tenant, today, items)
        return len(new)


def _warn_people(tenant: Tenant, today: dt.date, items: list[tuple[int, int, str, str]]) -> None:
    """One digest a day per person: owners hear of their leads; on the last day their manager hears too."""
    if not items:
        return
    _teams, manager_for = managers_lookup(tenant.pk)
    owners = {u.pk: u for u in User.objects.filter(tenant=tenant, pk__in={i[1] for i in items})}
    per_person = warning_recipients(items, owners, manager_for)
    for person in User.objects.filter(tenant=tenant, pk__in=list(per_person), is_active=True):
        entries = per_person[person.pk]
        with translation.override(person.effective_language):
            lines = [
                f"{name} — {_('tomorrow') if step == 'last_day' else _('soon')}" + (f" ({holder})" if holder else "")
                for _pk, name, step, holder in entries[:60]
            ]
        own = all(not holder for *_rest, holder in entries)
        notify(
            recipient=person,
            title=lazy_format(
                ngettext_lazy(
                    "%(count)d lead will fall back to the lead pool unless followed up",
                    "%(count)d leads will fall back to the lead pool unless followed up",
                    len(entries),
                ),
                count=len(entries),
            ),
            body="\n".join(lines),
            url=reverse("sales:lead_list") + ("?owner=me" if own else ""),
            key=f"lead-fallback-warning:{today.isoformat()}:{person.pk}:{min(i[0] for i in entries)}:{len(entries)}",
            email=False,
        )
