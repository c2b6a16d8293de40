"""The fallback job and its warning ladder: set-based, idempotent, one tenant at a time."""

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
from crm.api.services.webhook import webhook_emit_many
from crm.models import Tenant, User
from crm.selectors.pool_limits import warning_ladder, warning_recipients
from crm.services.audit import audit
from crm.services.job import job_run_once_today
from crm.services.notification import lazy_format, notify
from crm.services.pool_fallback import CUSTOMERS, fallback_digests, fallback_move
from crm.workcalendar.selectors import local_midnight, local_today
from customers.models import FallbackWarning
from customers.selectors.pool import fallback_due, pools_with_rules


def fallback_run(*, tenant: Tenant, now: dt.datetime | None = None) -> int:
    """Move every customer the predicate selects back to its home pool: per pool one set-based UPDATE … RETURNING
    feeding the insert of OwnershipEvents (crm.services.pool_fallback, shared with the lead fall-back; no Python
    loop over customers), then one digest per former owner, written together.
    Idempotent and safe concurrently: the UPDATE only takes rows still owned, skipping rows another run locked."""
    now = now or timezone.now()
    # One transaction for the moves, their events and the digests: a crash leaves all or nothing, so a retry
    # neither moves a customer twice nor loses a digest.
    with transaction.atomic():
        return _fallback_run(tenant, now)


def due_now(pool, now: dt.datetime):
    """The customers of `pool` the job moves at `now`: those whose stored fall-back moment is before the end of the
    local day (an index range, cust_fallback_idx) that THE predicate still counts as due (re-checked on each row,
    so a stored date never moves a customer the rules keep)."""
    tomorrow = local_midnight(pool.tenant, local_today(pool.tenant, now) + dt.timedelta(days=1))
    return fallback_due(pool, now=now).filter(fallback_at__lt=tomorrow)


def _fallback_run(tenant: Tenant, now: dt.datetime) -> int:
    moved: dict[int, list[tuple[int, str]]] = defaultdict(list)
    total = 0
    for pool in pools_with_rules(tenant):
        moved_now = fallback_move(
            tables=CUSTOMERS, tenant_id=tenant.pk, pool_id=pool.pk, due=due_now(pool, now), now=now
        )
        for owner_id, items in moved_now.items():
            moved[owner_id] += items
            total += len(items)
        webhook_emit_many(
            tenant_id=tenant.pk,
            event="customer.fell_back",
            items=[
                {"id": customer_id, "name": name, "former_owner": owner_id, "pool": pool.pk, "at": now}
                for owner_id, items in moved_now.items()
                for customer_id, name in items
            ],
        )
    if total:
        audit(tenant=tenant, actor=None, action="pool.fallback", details={"customers": total})
    fallback_digests(
        tenant_id=tenant.pk,
        moved=moved,
        title=lambda count: lazy_format(
            ngettext_lazy(
                "%(count)d customer fell back to the pool", "%(count)d customers fell back to the pool", count
            ),
            count=count,
        ),
        url=reverse("pool:list"),
        key=lambda owner_id, items: f"fallback:{now:%Y%m%d%H%M}:{owner_id}:{min(pk for pk, _n in items)}",
    )
    return total


WARN_LOCAL_HOUR = 9


def warn_run(*, tenant: Tenant, now: dt.datetime | None = None, force: bool = False) -> dict[str, int]:
    """The warning ladder: the owner `warn_days_before` days ahead, then owner and manager one day ahead. Each step
    is recorded once per customer per ownership period (a unique row), and each person gets one digest a day."""
    now = now or timezone.now()
    # The ladder rows and the digests commit together: a crashed run is retried whole, a finished one sends nothing
    # more; a concurrent run waits on the unique rows and then skips them.
    # Scheduled hourly; acts once a day per tenant, at the first run after 09:00 tenant-local time.
    if not force and timezone.localtime(now, tenant.tzinfo).hour < WARN_LOCAL_HOUR:
        return {"early": 0, "last_day": 0}
    with transaction.atomic():
        if not force and not job_run_once_today(
            tenant=tenant, job="warn_before_fallback", day=local_today(tenant, now)
        ):
            return {"early": 0, "last_day": 0}
        return _warn_run(tenant, now)


def _warn_run(tenant: Tenant, now: dt.datetime) -> dict[str, int]:
    today = local_today(tenant, now)
    sent = {"early": 0, "last_day": 0}
    items: list[tuple[int, int, str, str]] = []
    for pool in pools_with_rules(tenant):
        # The last-day step first; the early step takes what is due later within the warning window.
        taken = set(fallback_due(pool, now=now).values_list("pk", flat=True))
        for step, days in warning_ladder(pool.warn_days_before):
            candidates = list(
                fallback_due(pool, now=now, days_ahead=days)
                .exclude(pk__in=taken)
                .values_list("pk", "owner_id", "owned_since", "name")
            )
            taken.update(c[0] for c in candidates)
            if not candidates:
                continue
            new_ids = _insert_warnings(tenant, step, today + dt.timedelta(days=days), candidates, now)
            for pk, owner_id, _since, name in candidates:
                if pk in new_ids:
                    items.append((pk, owner_id, name, step))
                    sent[step] += 1
    if not items:
        return sent
    _teams, manager_for = managers_lookup(tenant.pk)
    owners = {u.pk: u for u in User.objects.filter(tenant=tenant, pk__in={i[1] for i in items})}
    per_person = warning_recipients(items, owners, manager_for)
    people = {u.pk: u for u in User.objects.filter(pk__in=list(per_person), is_active=True)}
    for person_id, entries in per_person.items():
        person = people.get(person_id)
        if person is None:
            continue
        lines = []
        with translation.override(person.effective_language):
            for _pk, name, st, holder in entries[:60]:
                when = _("tomorrow") if st == FallbackWarning.Step.LAST_DAY else _("soon")
                lines.append(f"{name} — {when}" + (f" ({holder})" if holder else ""))
        notify(
            recipient=person,
            title=lazy_format(
                ngettext_lazy(
                    "%(count)d customer will fall back to the pool unless followed up",
                    "%(count)d customers will fall back to the pool unless followed up",
                    len(entries),
                ),
                count=len(entries),
            ),
            body="\n".join(lines),
            robot_event="fallback_warning",
            url=reverse("pool:at_risk"),
            key=f"fallback-warning:{today.isoformat()}:{person.pk}:{min(i[0] for i in entries)}:{len(entries)}",
        )
    return sent


def _insert_warnings(tenant: Tenant, step: str, due_on: dt.date, candidates, now: dt.datetime) -> set[int]:
    """Insert the step's rows, skipping those already there; return the customers this run inserted."""
    with connection.cursor() as cursor:
        rows = execute_values(
            cursor.cursor,
            """
            INSERT INTO customers_fallbackwarning
                (tenant_id, customer_id, owner_id, owned_since, step, due_on, created_at, updated_at, created_by_id)
            VALUES %s
            ON CONFLICT (tenant_id, customer_id, owned_since, step) DO NOTHING
            RETURNING customer_id
            """,
            [
                (tenant.pk, pk, owner_id, since, step, due_on, now, now, None)
                for pk, owner_id, since, _name in candidates
            ],
            fetch=True,
        )
    return {row[0] for row in rows}
