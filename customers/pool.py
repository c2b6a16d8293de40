"""The public pool (公海): which pools a user sees, the one "due to fall back" predicate, claiming, releasing,
assigning, the fallback and warning jobs, views of pool customers, and extensions (DESIGN.md §3–§5)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Greatest, Length, Substr
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from psycopg2.extras import execute_values

from crm.access import assignable_users
from crm.errors import DomainError
from crm.models import Role, Team, Tenant, User
from crm.services.audit import audit
from crm.services.job import job_run_once_today
from crm.services.notification import lazy_format, notify

from .models import (
    Customer,
    ExtensionRequest,
    FallbackWarning,
    OwnershipEvent,
    Pool,
    PoolLevelRule,
    PoolTeam,
    PoolView,
)

ONE_DAY = dt.timedelta(days=1)


class ClaimRefused(DomainError):
    """A claim the rules or a faster colleague refused; the message says which."""


# --- reads ---------------------------------------------------------------------------------------------------


def visible_pools(user) -> QuerySet[Pool]:
    """Pools `user` may see: an admin all; others the pools naming their team or a team above it, and for a
    manager also the pools naming a team they manage."""
    if not (user and user.is_authenticated and user.is_active and user.tenant_id):
        return Pool.objects.none()
    pools = Pool.objects.filter(tenant_id=user.tenant_id)
    if user.has_any_role(Role.ADMIN):
        return pools
    condition = Q(pk__in=[])
    if user.team_id:
        # The pool names my team or one of its ancestors: the named team's path is a prefix of mine.
        my_path = Team.objects.filter(pk=user.team_id).values("path")[:1]
        condition |= Q(
            Exists(
                PoolTeam.objects.filter(pool=OuterRef("pk"), tenant_id=user.tenant_id).filter(
                    team__path=Substr(my_path, 1, Length("team__path"))
                )
            )
        )
    if user.has_any_role(Role.MANAGER):
        condition |= Q(
            Exists(PoolTeam.objects.filter(pool=OuterRef("pk"), team__in=Team.objects.managed_by(user).values("pk")))
        )
    return pools.filter(condition)


def in_pools_for(user) -> QuerySet[Customer]:
    """Unowned live customers in the pools `user` may see (drives /pool/)."""
    return Customer.objects.filter(
        tenant_id=getattr(user, "tenant_id", None),
        owner__isnull=True,
        deleted_at__isnull=True,
        pool__in=visible_pools(user).values("pk"),
    )


def local_today(tenant: Tenant, now: dt.datetime | None = None) -> dt.date:
    return timezone.localtime(now or timezone.now(), tenant.tzinfo).date()


def local_midnight(tenant: Tenant, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tenant.tzinfo)


@dataclass(frozen=True)
class Rules:
    """A pool's fallback thresholds, per level where set."""

    followup_default: int | None
    deal_default: int | None
    followup_by_level: dict[int, int | None]
    deal_by_level: dict[int, int | None]

    @classmethod
    def of(cls, pool: Pool, overrides: dict | None = None) -> Rules:
        """The pool's rules; `overrides` (the simulation) replaces fields and level rules without saving."""
        overrides = overrides or {}
        followup = overrides.get("no_followup_days", pool.no_followup_days)
        deal = overrides.get("no_deal_days", pool.no_deal_days)
        level_rules = overrides.get("level_rules")
        if level_rules is None:
            level_rules = {
                r.level_id: (r.no_followup_days, r.no_deal_days) for r in PoolLevelRule.objects.filter(pool=pool)
            }
        return cls(
            followup_default=followup,
            deal_default=deal,
            followup_by_level={lvl: f for lvl, (f, d) in level_rules.items() if f},
            deal_by_level={lvl: d for lvl, (f, d) in level_rules.items() if d},
        )


def _clock_condition(clock_field: str, by_level: dict[int, int], default: int | None, boundary) -> Q:
    """Rows whose clock ran for at least the level's (or the default) number of local days."""
    extension = ExpressionWrapper(F("extension_days") * Value(ONE_DAY), output_field=DurationField())
    condition = Q(pk__in=[])
    for level_id, days in by_level.items():
        condition |= Q(level_id=level_id, **{f"{clock_field}__lt": boundary(days) - extension})
    if default:
        condition |= ~Q(level_id__in=list(by_level)) & Q(**{f"{clock_field}__lt": boundary(default) - extension})
        if by_level:
            condition |= Q(level_id__isnull=True, **{f"{clock_field}__lt": boundary(default) - extension})
    return condition


def pools_with_rules(tenant: Tenant) -> QuerySet[Pool]:
    """The pools whose customers can fall back: a default rule, or a rule for at least one level."""
    return Pool.objects.filter(tenant=tenant).filter(
        Q(no_followup_days__isnull=False)
        | Q(no_deal_days__isnull=False)
        | Q(Exists(PoolLevelRule.objects.filter(pool=OuterRef("pk"))))
    )


def fallback_due(
    pool: Pool, *, now: dt.datetime | None = None, days_ahead: int = 0, overrides: dict | None = None
) -> QuerySet[Customer]:
    """THE predicate: owned customers of `pool` due to fall back by the end of local day today + `days_ahead`.

    The follow-up clock runs from the latest of owned_since and last_followed_up_at; the deal clock from the
    latest of owned_since and last_deal_at; an approved extension adds its days to both. Days are the tenant's
    local days. The job (days_ahead=0), the warnings (days_ahead=N) and the simulation all call this."""
    tenant = pool.tenant
    now = now or timezone.now()
    rules = Rules.of(pool, overrides)
    exempt_key = (
        overrides.get("exempt_key_accounts", pool.exempt_key_accounts) if overrides else pool.exempt_key_accounts
    )
    exempt_deal_days = (
        overrides.get("exempt_recent_deal_days", pool.exempt_recent_deal_days)
        if overrides
        else pool.exempt_recent_deal_days
    )
    today = local_today(tenant, now) + dt.timedelta(days=days_ahead)

    def boundary(days: int) -> dt.datetime:
        # A clock started before local midnight of (today - days + 1) has run `days` full local days by today.
        return local_midnight(tenant, today - dt.timedelta(days=days - 1))

    qs = Customer.objects.filter(tenant=tenant, pool=pool, owner__isnull=False, deleted_at__isnull=True).annotate(
        followup_clock=Greatest("owned_since", Coalesce("last_followed_up_at", "owned_since")),
        deal_clock=Greatest("owned_since", Coalesce("last_deal_at", "owned_since")),
    )
    condition = _clock_condition("followup_clock", rules.followup_by_level, rules.followup_default, boundary) | (
        _clock_condition("deal_clock", rules.deal_by_level, rules.deal_default, boundary)
    )
    qs = qs.filter(condition)
    if exempt_key:
        qs = qs.exclude(is_key_account=True)
    if exempt_deal_days:
        qs = qs.exclude(last_deal_at__gte=now - dt.timedelta(days=exempt_deal_days))
    return qs


# --- limits --------------------------------------------------------------------------------------------------


def _claims_today(rep: User, pool: Pool, now: dt.datetime) -> int:
    start = local_midnight(rep.tenant, local_today(rep.tenant, now))
    return OwnershipEvent.objects.filter(
        tenant_id=rep.tenant_id, reason=OwnershipEvent.Reason.CLAIM, to_owner=rep, from_pool=pool, at__gte=start
    ).count()


def _holdings(rep: User) -> int:
    return Customer.objects.filter(tenant_id=rep.tenant_id, owner=rep, deleted_at__isnull=True).count()


def _cooldown_until(rep: User, customer: Customer, pool: Pool, now: dt.datetime) -> dt.datetime | None:
    if not pool.reclaim_cooldown_days:
        return None
    lost = (
        OwnershipEvent.objects.filter(
            tenant_id=rep.tenant_id,
            customer=customer,
            from_owner=rep,
            reason__in=[OwnershipEvent.Reason.RELEASE, OwnershipEvent.Reason.FALLBACK],
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if lost is None:
        return None
    until = lost + dt.timedelta(days=pool.reclaim_cooldown_days)
    return until if until > now else None


def check_can_take(rep: User, customer: Customer, pool: Pool, now: dt.datetime, *, count_claim: bool) -> None:
    """The holding cap, the daily claims (for claims) and the re-claim cooldown; raise with the rule that stops it."""
    cap = rep.tenant.max_customers_per_rep
    if cap is not None and _holdings(rep) >= cap:
        raise ClaimRefused(
            _("%(name)s already holds %(cap)d customers, the most one rep may hold.")
            % {"name": rep.full_name, "cap": cap}
        )
    if count_claim and pool.max_claims_per_day is not None and _claims_today(rep, pool, now) >= pool.max_claims_per_day:
        raise ClaimRefused(
            _("You have used today's %(count)d claims from this pool; try again tomorrow.")
            % {"count": pool.max_claims_per_day}
        )
    until = _cooldown_until(rep, customer, pool, now)
    if until is not None:
        raise ClaimRefused(
            _("You gave this customer up recently; you may claim it again from %(date)s.")
            % {"date": timezone.localtime(until, rep.tenant.tzinfo).strftime("%Y-%m-%d %H:%M")}
        )


# --- claim / release / assign --------------------------------------------------------------------------------


def _take(customer_id: int, rep: User, now: dt.datetime) -> bool:
    """The conditional UPDATE: only an ownerless live customer changes hands; exactly one claimer wins."""
    return bool(
        Customer.objects.filter(
            pk=customer_id, tenant_id=rep.tenant_id, owner__isnull=True, deleted_at__isnull=True
        ).update(owner=rep, owned_since=now, extension_days=0, updated_at=now)
    )


def customer_claim(*, rep: User, customer_id: int, now: dt.datetime | None = None) -> Customer:
    """A rep claims a pool customer. Atomic and race-free: the rep's row is locked while their limits are checked,
    and the conditional UPDATE lets exactly one of many simultaneous claimers win; the others learn who did."""
    now = now or timezone.now()
    customer = in_pools_for(rep).select_related("pool").filter(pk=customer_id).first()
    if customer is None:
        taken = (
            Customer.objects.filter(pk=customer_id, tenant_id=rep.tenant_id, deleted_at__isnull=True)
            .select_related("owner")
            .first()
        )
        if taken is not None and taken.owner_id and visible_pools(rep).filter(pk=taken.pool_id).exists():
            raise ClaimRefused(_("Too late: %(name)s claimed this customer first.") % {"name": taken.owner.full_name})
        raise Customer.DoesNotExist
    pool = customer.pool
    with transaction.atomic():
        # One rep's claims are serialized, so concurrent claims never exceed their cap or daily claims.
        User.objects.select_for_update().get(pk=rep.pk)
        check_can_take(rep, customer, pool, now, count_claim=True)
        if not _take(customer.pk, rep, now):
            holder = Customer.objects.select_related("owner").get(pk=customer.pk)
            name = holder.owner.full_name if holder.owner else _("someone")
            raise ClaimRefused(_("Too late: %(name)s claimed this customer first.") % {"name": name})
        OwnershipEvent.objects.create(
            tenant_id=rep.tenant_id,
            customer_id=customer.pk,
            to_owner=rep,
            from_pool=pool,
            reason=OwnershipEvent.Reason.CLAIM,
            actor=rep,
            at=now,
        )
        audit(tenant=rep.tenant, actor=rep, action="customer.claim", obj=customer)
    customer.refresh_from_db()
    return customer


def customer_release(*, acting_user: User, customer: Customer, reason: str) -> Customer:
    """The owner gives a customer back to its home pool, with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why you release this customer."), field="reason")
    now = timezone.now()
    with transaction.atomic():
        locked = Customer.objects.select_for_update().filter(pk=customer.pk, deleted_at__isnull=True).first()
        if locked is None or locked.owner_id != acting_user.pk:
            raise PermissionDenied(_("Only the owner releases a customer to the pool."))
        Customer.objects.filter(pk=locked.pk).update(owner=None, owned_since=None, extension_days=0, updated_at=now)
        OwnershipEvent.objects.create(
            tenant_id=locked.tenant_id,
            customer=locked,
            from_owner=acting_user,
            to_pool=locked.pool,
            reason=OwnershipEvent.Reason.RELEASE,
            note=reason[:500],
            actor=acting_user,
            at=now,
        )
        audit(
            tenant=locked.tenant, actor=acting_user, action="customer.release", obj=locked, details={"reason": reason}
        )
    locked.refresh_from_db()
    return locked


def customer_assign(*, acting_user: User, customer_ids: list[int], rep: User) -> int:
    """A manager (or admin) hands pool customers to a rep of their team, within the rep's holding cap."""
    if not acting_user.has_any_role(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(_("Only managers and administrators assign pool customers."))
    if rep.tenant_id != acting_user.tenant_id or not rep.is_active:
        raise DomainError(_("Choose an active colleague."), field="rep")
    if not assignable_users(acting_user).filter(pk=rep.pk).exists():
        raise DomainError(_("Choose a rep of a team you manage."), field="rep")
    now = timezone.now()
    assigned = 0
    with transaction.atomic():
        User.objects.select_for_update().get(pk=rep.pk)
        candidates = list(in_pools_for(acting_user).filter(pk__in=customer_ids).select_related("pool").order_by("pk"))
        if len(candidates) != len(set(customer_ids)):
            raise DomainError(_("Some of these customers are no longer in a pool you see."))
        cap = rep.tenant.max_customers_per_rep
        if cap is not None and _holdings(rep) + len(candidates) > cap:
            raise DomainError(
                _("%(name)s would hold more than %(cap)d customers.") % {"name": rep.full_name, "cap": cap}, field="rep"
            )
        for customer in candidates:
            if not _take(customer.pk, rep, now):
                raise DomainError(_("%(name)s was claimed meanwhile; nothing was assigned.") % {"name": customer.name})
            OwnershipEvent.objects.create(
                tenant_id=rep.tenant_id,
                customer=customer,
                from_pool=customer.pool,
                to_owner=rep,
                reason=OwnershipEvent.Reason.ASSIGN,
                actor=acting_user,
                at=now,
            )
            assigned += 1
        audit(
            tenant=rep.tenant,
            actor=acting_user,
            action="customer.assign",
            details={"customers": customer_ids, "rep": rep.pk},
        )
        notify(
            recipient=rep,
            title=lazy_format(
                ngettext_lazy(
                    "%(count)d pool customer was assigned to you",
                    "%(count)d pool customers were assigned to you",
                    assigned,
                ),
                count=assigned,
            ),
            body=", ".join(c.name for c in candidates[:20]),
            url=reverse("customers:list") + f"?owner={rep.pk}",
        )
    return assigned


def move_to_pool(*, acting_user: User, customer_ids: list[int], pool: Pool) -> int:
    """Admins move customers (owned or not) to another home pool."""
    if not acting_user.has_any_role(Role.ADMIN) or pool.tenant_id != acting_user.tenant_id:
        raise PermissionDenied(_("Only administrators move customers between pools."))
    with transaction.atomic():
        rows = list(
            Customer.objects.filter(tenant_id=acting_user.tenant_id, pk__in=customer_ids, deleted_at__isnull=True)
            .exclude(pool=pool)
            .select_for_update()
            .values_list("pk", "pool_id")
        )
        Customer.objects.filter(pk__in=[pk for pk, _pool in rows]).update(pool=pool, updated_at=timezone.now())
        OwnershipEvent.objects.bulk_create(
            [
                OwnershipEvent(
                    tenant_id=acting_user.tenant_id,
                    customer_id=pk,
                    from_pool_id=old,
                    to_pool=pool,
                    reason=OwnershipEvent.Reason.TRANSFER,
                    note=_("Home pool changed"),
                    actor=acting_user,
                )
                for pk, old in rows
            ]
        )
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="customer.move_pool",
            obj=pool,
            details={"customers": [r[0] for r in rows]},
        )
    return len(rows)


# --- viewing pool customers (masked, limited) ----------------------------------------------------------------


def record_pool_view(*, user: User, customer: Customer, now: dt.datetime | None = None) -> int | None:
    """Count an opening of a pool customer against the pool's daily view limit; return the views left today
    (None without a limit). Re-opening the same customer the same day counts once. Raises when the limit is used."""
    pool = customer.pool
    day = local_today(user.tenant, now)
    limit = pool.daily_view_limit
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        seen = PoolView.objects.filter(tenant_id=user.tenant_id, user=user, pool=pool, day=day)
        already = seen.filter(customer=customer).exists()
        used = seen.count()
        if limit is not None and not already and used >= limit:
            raise ClaimRefused(
                _("You have opened %(limit)d pool customers today, the most this pool allows. Try again tomorrow.")
                % {"limit": limit}
            )
        if not already:
            PoolView.objects.create(tenant_id=user.tenant_id, user=user, customer=customer, pool=pool, day=day)
            used += 1
    return None if limit is None else max(limit - used, 0)


# --- the jobs ------------------------------------------------------------------------------------------------


def fallback_run(*, tenant: Tenant, now: dt.datetime | None = None) -> int:
    """Move every customer the predicate selects back to its home pool: per pool one UPDATE … RETURNING feeding a
    bulk insert of OwnershipEvents (no Python loop over customers), then one digest per former owner.
    Idempotent and safe concurrently: the UPDATE only takes rows still owned, skipping rows another run locked."""
    now = now or timezone.now()
    # One transaction for the moves, their events and the digests: a crash leaves all or nothing, so a retry
    # neither moves a customer twice nor loses a digest.
    with transaction.atomic():
        return _fallback_run(tenant, now)


def _fallback_run(tenant: Tenant, now: dt.datetime) -> int:
    moved: dict[int, list[tuple[int, str]]] = defaultdict(list)
    total = 0
    for pool in pools_with_rules(tenant):
        due_sql, due_params = fallback_due(pool, now=now).values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            # due_sql is Django's own compiled SQL for the predicate, with its values passed as parameters.
            cursor.execute(
                f"""
                WITH due AS (
                    SELECT c.id, c.owner_id FROM customers_customer c
                    WHERE c.id IN ({due_sql}) AND c.owner_id IS NOT NULL
                    FOR UPDATE SKIP LOCKED
                ), moved AS (
                    UPDATE customers_customer c
                    SET owner_id = NULL, owned_since = NULL, extension_days = 0, updated_at = %s
                    FROM due WHERE c.id = due.id AND c.owner_id = due.owner_id
                    RETURNING c.id, due.owner_id, c.name
                ), events AS (
                    INSERT INTO customers_ownershipevent
                        (tenant_id, customer_id, from_owner_id, to_owner_id, from_pool_id, to_pool_id, reason,
                         note, actor_id, at, created_at, updated_at, created_by_id)
                    SELECT %s, moved.id, moved.owner_id, NULL, NULL, %s, 'fallback', '', NULL, %s, %s, %s, NULL
                    FROM moved
                    RETURNING customer_id
                )
                SELECT moved.id, moved.owner_id, moved.name FROM moved
                """,  # noqa: S608
                [*due_params, now, tenant.pk, pool.pk, now, now, now],
            )
            rows = cursor.fetchall()
        for customer_id, owner_id, name in rows:
            moved[owner_id].append((customer_id, name))
        total += len(rows)
    if total:
        audit(tenant=tenant, actor=None, action="pool.fallback", details={"customers": total})
    for owner in User.objects.filter(pk__in=list(moved)):
        items = moved[owner.pk]
        notify(
            recipient=owner,
            title=lazy_format(
                ngettext_lazy(
                    "%(count)d customer fell back to the pool", "%(count)d customers fell back to the pool", len(items)
                ),
                count=len(items),
            ),
            body="\n".join(name for _pk, name in items[:50]),
            url=reverse("pool:list"),
            key=f"fallback:{now:%Y%m%d%H%M}:{owner.pk}:{min(pk for pk, _n in items)}",
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
    digests: dict[tuple[int, str], list[tuple[int, str, str]]] = defaultdict(list)
    for pool in pools_with_rules(tenant):
        # The last-day step first; the early step takes what is due later within the warning window.
        steps = [(FallbackWarning.Step.LAST_DAY, 1)]
        if pool.warn_days_before and pool.warn_days_before > 1:
            steps.append((FallbackWarning.Step.EARLY, pool.warn_days_before))
        taken = set(fallback_due(pool, now=now).values_list("pk", flat=True))
        for step, days in steps:
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
                    digests[(owner_id, step)].append((pk, name, step))
                    sent[step] += 1
    if not digests:
        return sent
    owners = {u.pk: u for u in User.objects.filter(pk__in={k[0] for k in digests}).select_related("team__manager")}
    per_person: dict[int, list[tuple[int, str, str, str]]] = defaultdict(list)
    for (owner_id, _step), items in digests.items():
        owner = owners[owner_id]
        for pk, name, st in items:
            per_person[owner_id].append((pk, name, st, ""))
            if st == FallbackWarning.Step.LAST_DAY:
                manager = _manager_of(owner)
                if manager is not None and manager.pk != owner.pk:
                    per_person[manager.pk].append((pk, name, st, owner.full_name))
    people = {u.pk: u for u in User.objects.filter(pk__in=list(per_person), is_active=True)}
    for person_id, items in per_person.items():
        person = people.get(person_id)
        if person is None:
            continue
        lines = []
        with translation.override(person.effective_language):
            for _pk, name, st, holder in items[:60]:
                when = _("tomorrow") if st == FallbackWarning.Step.LAST_DAY else _("soon")
                lines.append(f"{name} — {when}" + (f" ({holder})" if holder else ""))
        notify(
            recipient=person,
            title=lazy_format(
                ngettext_lazy(
                    "%(count)d customer will fall back to the pool unless followed up",
                    "%(count)d customers will fall back to the pool unless followed up",
                    len(items),
                ),
                count=len(items),
            ),
            body="\n".join(lines),
            url=reverse("pool:at_risk"),
            key=f"fallback-warning:{today.isoformat()}:{person.pk}:{min(i[0] for i in items)}:{len(items)}",
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


def _manager_of(user: User) -> User | None:
    """The manager of the nearest team above (or at) the user's team that has one."""
    if not user.team_id:
        return None
    team = user.team
    ids = [int(x) for x in team.path.strip("/").split("/") if x]
    teams = {t.pk: t for t in Team.objects.filter(pk__in=ids).select_related("manager")}
    for team_id in reversed(ids):
        t = teams.get(team_id)
        if t and t.manager_id and t.manager and t.manager.is_active and t.manager_id != user.pk:
            return t.manager
    return None


# --- extensions ----------------------------------------------------------------------------------------------


def extension_request(*, acting_user: User, customer: Customer, reason: str) -> ExtensionRequest:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why you need more time."), field="reason")
    if customer.owner_id != acting_user.pk or customer.owned_since is None:
        raise PermissionDenied(_("Only the owner asks for an extension."))
    if ExtensionRequest.objects.filter(customer=customer, owned_since=customer.owned_since).exists():
        raise DomainError(_("An extension was already asked for this customer while you hold it."))
    with transaction.atomic():
        request = ExtensionRequest.objects.create(
            tenant_id=customer.tenant_id,
            customer=customer,
            requested_by=acting_user,
            owned_since=customer.owned_since,
            reason=reason,
        )
        manager = _manager_of(acting_user)
        if manager is not None:
            notify(
                recipient=manager,
                title=lazy_format(
                    gettext_lazy("%(rep)s asks to keep %(customer)s longer"),
                    rep=acting_user.full_name,
                    customer=customer.name,
                ),
                body=reason,
                url=reverse("pool:extensions"),
                key=f"extension-request:{request.pk}",
            )
        audit(
            tenant=customer.tenant,
            actor=acting_user,
            action="extension.request",
            obj=customer,
            details={"reason": reason},
        )
    return request


def can_decide(user: User, request: ExtensionRequest) -> bool:
    if user.has_any_role(Role.ADMIN):
        return True
    return user.has_any_role(Role.MANAGER) and Customer.objects.managed_by(user).filter(pk=request.customer_id).exists()


def extension_decide(*, acting_user: User, request: ExtensionRequest, approve: bool) -> ExtensionRequest:
    if not can_decide(acting_user, request):
        raise PermissionDenied(_("Only the rep's manager or an administrator decides."))
    with transaction.atomic():
        request = ExtensionRequest.objects.select_for_update().select_related("customer__pool").get(pk=request.pk)
        if request.status != ExtensionRequest.Status.PENDING:
            raise DomainError(_("This request was already decided."))
        customer = Customer.objects.select_for_update().get(pk=request.customer_id)
        still_held = customer.owner_id == request.requested_by_id and customer.owned_since == request.owned_since
        request.decided_by, request.decided_at = acting_user, timezone.now()
        if approve and still_held:
            days = customer.pool.extension_days
            Customer.objects.filter(pk=customer.pk).update(extension_days=F("extension_days") + days)
            request.status, request.days = ExtensionRequest.Status.APPROVED, days
            OwnershipEvent.objects.create(
                tenant_id=customer.tenant_id,
                customer=customer,
                from_owner=customer.owner,
                to_owner=customer.owner,
                reason=OwnershipEvent.Reason.EXTENSION,
                note=_("Fallback postponed by %(days)d days: %(reason)s") % {"days": days, "reason": request.reason},
                actor=acting_user,
            )
        elif approve:
            raise DomainError(_("The rep no longer holds this customer."))
        else:
            request.status = ExtensionRequest.Status.DECLINED
        request.save()
        audit(tenant=customer.tenant, actor=acting_user, action=f"extension.{request.status}", obj=customer)
        notify(
            recipient=request.requested_by,
            title=lazy_format(
                gettext_lazy("Extension approved for %(customer)s")
                if request.status == "approved"
                else gettext_lazy("Extension declined for %(customer)s"),
                customer=customer.name,
            ),
            url=reverse("customers:detail", args=[customer.pk]),
            key=f"extension-decided:{request.pk}",
        )
    return request


# --- deactivated users ---------------------------------------------------------------------------------------


def release_all_of(*, user: User, acting_user: User | None) -> int:
    """A deactivated user's customers go to the pool chosen to receive them (else each one's home pool)."""
    receiver = Pool.objects.filter(tenant_id=user.tenant_id, receives_deactivated=True).first()
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Customer.objects.filter(tenant_id=user.tenant_id, owner=user, deleted_at__isnull=True)
            .select_for_update()
            .values_list("pk", "pool_id")
        )
        if not rows:
            return 0
        ids = [pk for pk, _pool in rows]
        update = {"owner": None, "owned_since": None, "extension_days": 0, "updated_at": now}
        if receiver is not None:
            update["pool"] = receiver
        Customer.objects.filter(pk__in=ids).update(**update)
        OwnershipEvent.objects.bulk_create(
            [
                OwnershipEvent(
                    tenant_id=user.tenant_id,
                    customer_id=pk,
                    from_owner=user,
                    to_pool_id=receiver.pk if receiver else pool_id,
                    reason=OwnershipEvent.Reason.RELEASE,
                    note=_("Owner deactivated"),
                    actor=acting_user,
                    at=now,
                )
                for pk, pool_id in rows
            ]
        )
    return len(rows)
