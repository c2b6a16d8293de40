"""RFM scores: one SQL statement per tenant computes every customer's recency, frequency and monetary value from
its orders, scores each 1–5 by quintiles within the tenant and names its cell; the settings and "recompute now".

Decisions:
- Orders count when not voided and ordered within the window (the tenant's `window_months`, default 12, up to
  the tenant's local today). R is the date of the last such order, F their number, M the sum of their amounts in
  the tenant's currency (orders in a foreign currency count for R and F, not for M: there are no exchange rates).
- Customers with no order in the window stay unscored (no row, and a row left from an earlier run is removed):
  they are not "lost" customers, they are not customers of the window at all.
- Quintiles: score = 1 + ⌊5·(rank − 1) / n⌋ over the tenant's scored customers, rank ascending (an older last
  order, fewer orders, a smaller amount score lower). On distinct values this is NTILE(5); unlike NTILE, equal
  values always get the same score (NTILE would split a tie between two scores by an arbitrary order).
- Cells, from R against FM = ⌈(F + M) / 2⌉ (the classic R×FM grid).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Role, Tenant, User
from crm.services import outbox
from crm.services.audit import audit
from crm.workcalendar.selectors import local_today
from marketing import tasks
from marketing.models import RfmCell, RfmSettings

MIN_WINDOW, MAX_WINDOW = 1, 60
RFM_WORK_MEM = "64MB"

# The named cell of (R, FM), as SQL: the first matching line wins.
CELL_SQL = f"""CASE
    WHEN r >= 5 AND fm >= 4 THEN '{RfmCell.CHAMPIONS.value}'
    WHEN r >= 3 AND fm >= 4 THEN '{RfmCell.LOYAL.value}'
    WHEN r = 5 AND fm = 1 THEN '{RfmCell.NEW.value}'
    WHEN r = 4 AND fm = 1 THEN '{RfmCell.PROMISING.value}'
    WHEN r >= 4 THEN '{RfmCell.POTENTIAL_LOYALIST.value}'
    WHEN r = 3 AND fm = 3 THEN '{RfmCell.NEED_ATTENTION.value}'
    WHEN r = 3 THEN '{RfmCell.ABOUT_TO_SLEEP.value}'
    WHEN fm = 5 THEN '{RfmCell.CANT_LOSE.value}'
    WHEN fm >= 3 THEN '{RfmCell.AT_RISK.value}'
    WHEN r = 1 AND fm = 1 THEN '{RfmCell.LOST.value}'
    ELSE '{RfmCell.HIBERNATING.value}'
END"""


def _quintile(order_by: str) -> str:
    # n: the number of scored customers, computed once (a COUNT(*) OVER () would keep the whole window in a
    # tuplestore and read it back per row: gigabytes of temporary reads at a million customers).
    return f"LEAST(5, 1 + (5 * (RANK() OVER (ORDER BY {order_by}) - 1)) / n)"


# One statement: the window's orders per customer, their quintiles and cell, upserted (rows whose values did not
# change are neither written nor locked), and the rows of customers no longer in the window removed. Built from constants only.
RFM_SQL = f"""
WITH stats AS (
    SELECT o.customer_id,
           MAX(o.ordered_on) AS last_order_on,
           COUNT(*) AS orders,
           COALESCE(SUM(o.amount) FILTER (WHERE o.currency = %(currency)s), 0) AS amount
      FROM sales_order o
      JOIN customers_customer c ON c.id = o.customer_id AND c.tenant_id = o.tenant_id
     WHERE o.tenant_id = %(tenant)s
       AND o.voided_at IS NULL
       AND o.status = 'confirmed'  -- OrderQuerySet.counted(): an order awaiting discount approval is no deal yet
       AND o.ordered_on >= %(since)s AND o.ordered_on <= %(today)s
       AND c.deleted_at IS NULL
     GROUP BY o.customer_id
), scored AS (
    SELECT customer_id, last_order_on, orders, amount,
           {_quintile("last_order_on")} AS r,
           {_quintile("orders")} AS f,
           {_quintile("amount")} AS m
      FROM stats CROSS JOIN (SELECT COUNT(*) AS n FROM stats) AS total
), celled AS (
    SELECT scored.*, (f + m + 1) / 2 AS fm FROM scored
), named AS (
    SELECT celled.*, {CELL_SQL} AS cell FROM celled
), changed AS (
    -- Only new rows and rows whose values differ go to the upsert: ON CONFLICT … DO UPDATE … WHERE locks (and so
    -- writes) every conflicting row even when its WHERE then skips the update, so a rerun that changes nothing
    -- would still rewrite a million tuples; an anti-join on the (tenant, customer) index reads them instead.
    SELECT named.*
      FROM named
      LEFT JOIN marketing_rfmscore old ON old.tenant_id = %(tenant)s AND old.customer_id = named.customer_id
     WHERE old.id IS NULL
        OR (old.last_order_on, old.orders, old.amount, old.recency, old.frequency, old.monetary, old.cell)
           IS DISTINCT FROM (named.last_order_on, named.orders, named.amount, named.r, named.f, named.m, named.cell)
), upserted AS (
    INSERT INTO marketing_rfmscore AS s
           (tenant_id, customer_id, last_order_on, orders, amount, recency, frequency, monetary, cell,
            computed_at, created_at, updated_at)
    SELECT %(tenant)s, customer_id, last_order_on, orders, amount, r, f, m, cell, %(now)s, %(now)s, %(now)s
      FROM changed
    ON CONFLICT (tenant_id, customer_id) DO UPDATE
       SET last_order_on = EXCLUDED.last_order_on, orders = EXCLUDED.orders, amount = EXCLUDED.amount,
           recency = EXCLUDED.recency, frequency = EXCLUDED.frequency, monetary = EXCLUDED.monetary,
           cell = EXCLUDED.cell, computed_at = EXCLUDED.computed_at, updated_at = EXCLUDED.updated_at
     WHERE (s.last_order_on, s.orders, s.amount, s.recency, s.frequency, s.monetary, s.cell)
           IS DISTINCT FROM (EXCLUDED.last_order_on, EXCLUDED.orders, EXCLUDED.amount, EXCLUDED.recency,
                             EXCLUDED.frequency, EXCLUDED.monetary, EXCLUDED.cell)
    RETURNING 1
), removed AS (
    DELETE FROM marketing_rfmscore s
     WHERE s.tenant_id = %(tenant)s
       AND NOT EXISTS (SELECT 1 FROM stats WHERE stats.customer_id = s.customer_id)
    RETURNING 1
)
SELECT (SELECT COUNT(*) FROM stats), (SELECT COUNT(*) FROM upserted), (SELECT COUNT(*) FROM removed)
"""  # noqa: S608


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` months earlier (the month's last day where it has fewer days): the window's start."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def rfm_settings_for(tenant: Tenant) -> RfmSettings:
    """The tenant's RFM settings (unsaved defaults when it never changed them)."""
    return RfmSettings.objects.filter(tenant=tenant).first() or RfmSettings(tenant=tenant)


def rfm_compute(*, tenant_id: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Score every customer of the tenant with an order in its window, in one statement (see RFM_SQL). Idempotent:
    a rerun with the same orders writes nothing; two runs at once are serialised by the settings row's lock."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {"scored": 0, "changed": 0, "removed": 0}
    now = now or timezone.now()
    today = local_today(tenant, now)
    with transaction.atomic():
        settings, _created = RfmSettings.objects.get_or_create(tenant=tenant)
        settings = RfmSettings.objects.select_for_update().get(pk=settings.pk)
        params = {
            "tenant": tenant.pk,
            "currency": tenant.currency,
            "since": months_before(today, settings.window_months),
            "today": today,
            "now": now,
        }
        with connection.cursor() as cursor:
            # The three rankings sort every scored customer: in memory rather than on disk, for this transaction.
            cursor.execute("SET LOCAL work_mem = %s", [RFM_WORK_MEM])
            cursor.execute(RFM_SQL, params)
            scored, changed, removed = cursor.fetchone()
        RfmSettings.objects.filter(pk=settings.pk).update(computed_at=now)
    return {"scored": scored, "changed": changed, "removed": removed}


def _require_manager(user: User) -> None:
    if not (getattr(user, "tenant_id", None) and user.has_any_role(Role.ADMIN, Role.MANAGER)):
        raise PermissionDenied(_("Only managers and administrators may do that."))


def rfm_recompute_request(*, acting_user: User) -> None:
    """ "Recompute now": queue the tenant's RFM job (through the outbox, after this transaction commits)."""
    _require_manager(acting_user)
    with transaction.atomic():
        outbox.enqueue(tasks.compute_tenant_rfm, acting_user.tenant_id)
        audit(tenant=acting_user.tenant, actor=acting_user, action="rfm.recompute")


def rfm_settings_save(*, acting_user: User, window_months: int) -> RfmSettings:
    """Change the tenant's RFM window (admins); the scores follow at the next run, which is queued now."""
    if not (getattr(acting_user, "tenant_id", None) and acting_user.has_any_role(Role.ADMIN)):
        raise PermissionDenied(_("Only administrators of this company may do that."))
    if not MIN_WINDOW <= int(window_months) <= MAX_WINDOW:
        raise DomainError(
            _("Between %(min)d and %(max)d months.") % {"min": MIN_WINDOW, "max": MAX_WINDOW}, field="window_months"
        )
    with transaction.atomic():
        settings, _created = RfmSettings.objects.get_or_create(tenant_id=acting_user.tenant_id)
        before = settings.window_months
        settings.window_months = int(window_months)
        settings.save(update_fields=["window_months", "updated_at"])
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="rfm.settings",
            obj=settings,
            details={"window_months": [before, settings.window_months]},
        )
        outbox.enqueue(tasks.compute_tenant_rfm, acting_user.tenant_id)
    return settings
