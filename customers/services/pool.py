"""The public pool (公海): claiming (race-free), releasing, assigning, moving customers to another home pool,
counting masked views, and releasing a deactivated user's customers."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext_lazy

from crm.access import require_sales_user, sales_assignable_users
from crm.api.services.webhook import webhook_emit
from crm.errors import DomainError
from crm.models import Role, User
from crm.selectors.pool_limits import cooldown_until
from crm.services.audit import audit, audit_many
from crm.services.notification import lazy_format, notify
from crm.workcalendar.selectors import local_today
from customers.models import Customer, OwnershipEvent, Pool, PoolView
from customers.selectors.pool import claims_today
from customers.selectors.view_quota import quotas_for
from customers.services.fallback_date import fallback_at_refresh
from customers.services.holdings import HoldingsCapReached, holdings_check


class ClaimRefused(DomainError):
    """A claim the rules or a faster colleague refused; the message says which."""


def _claims_today(rep: User, pool: Pool, now: dt.datetime) -> int:
    return claims_today(rep, [pool.pk], now).get(pool.pk, 0)


def _cooldown_until(rep: User, customer: Customer, pool: Pool, now: dt.datetime) -> dt.datetime | None:
    return cooldown_until(OwnershipEvent.objects.filter(customer=customer), rep, pool.reclaim_cooldown_days, now)


def check_can_take(rep: User, customer: Customer, pool: Pool, now: dt.datetime, *, count_claim: bool) -> None:
    """The holding cap, the daily claims (for claims) and the re-claim cooldown; raise with the rule that stops it."""
    try:
        holdings_check(rep=rep)
    except HoldingsCapReached as exc:
        raise ClaimRefused(exc.message) from exc
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


def _take(customer_id: int, rep: User, now: dt.datetime) -> bool:
    """The conditional UPDATE: only an ownerless live customer changes hands; exactly one claimer wins."""
    return bool(
        Customer.objects.filter(
            pk=customer_id, tenant_id=rep.tenant_id, owner__isnull=True, deleted_at__isnull=True
        ).update(owner=rep, owned_since=now, extension_days=0, pooled_at=None, updated_at=now)
    )


def customer_claim(*, rep: User, customer_id: int, now: dt.datetime | None = None) -> Customer:
    """A rep claims a pool customer. Atomic and race-free: the rep's row is locked while their limits are checked,
    and the customer's row is locked before anything is decided, so exactly one of many simultaneous claimers wins
    and the others learn who did. The claim is stamped once both locks are held (unless `now` is given), so it is
    never dated before the fall-back or release that put the customer in the pool."""
    require_sales_user(rep)
    customer = Customer.objects.in_pools_for(rep).select_related("pool").filter(pk=customer_id).first()
    if customer is None:
        taken = (
            Customer.objects.filter(pk=customer_id, tenant_id=rep.tenant_id, deleted_at__isnull=True)
            .select_related("owner")
            .first()
        )
        if taken is not None and taken.owner_id and Pool.objects.visible_to(rep).filter(pk=taken.pool_id).exists():
            raise ClaimRefused(_("Too late: %(name)s claimed this customer first.") % {"name": taken.owner.full_name})
        raise Customer.DoesNotExist
    pool = customer.pool
    with transaction.atomic():
        # One rep's claims are serialized, so concurrent claims never exceed their cap or daily claims.
        User.objects.select_for_update().get(pk=rep.pk)
        locked = (
            Customer.objects.select_for_update(of=("self",))
            .select_related("owner")
            .filter(pk=customer.pk, tenant_id=rep.tenant_id, deleted_at__isnull=True)
            .first()
        )
        if locked is None or locked.owner_id is not None:
            name = locked.owner.full_name if locked is not None and locked.owner else _("someone")
            raise ClaimRefused(_("Too late: %(name)s claimed this customer first.") % {"name": name})
        now = now or timezone.now()
        check_can_take(rep, customer, pool, now, count_claim=True)
        _take(customer.pk, rep, now)
        fallback_at_refresh(tenant=rep.tenant, ids=[customer.pk])
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
        webhook_emit(
            tenant_id=rep.tenant_id,
            event="customer.claimed",
            data={"id": customer.pk, "name": customer.name, "owner": rep.pk, "pool": pool.pk, "claimed_at": now},
        )
    customer.refresh_from_db()
    return customer


def releasable_pools(user: User, home_pool_ids) -> QuerySet[Pool]:
    """The pools `user` may release customers into: those they may see, and the customers' own home pools."""
    return Pool.objects.filter(tenant_id=user.tenant_id).filter(
        Q(pk__in=Pool.objects.visible_to(user).values("pk")) | Q(pk__in=list(home_pool_ids))
    )


def customer_release(*, acting_user: User, customer: Customer, reason: str, pool: Pool | None = None) -> Customer:
    """The owner gives a customer back to a pool, with a reason: its home pool, or `pool` (one the owner may see),
    which becomes its home pool."""
    customers_release(acting_user=acting_user, customer_ids=[customer.pk], reason=reason, pool=pool)
    return Customer.objects.get(pk=customer.pk)


def customers_release(*, acting_user: User, customer_ids: list[int], reason: str, pool: Pool | None = None) -> int:
    """The owner gives one or many customers back, each to its home pool or all to `pool` (a pool the owner may see,
    or the home pool of each): one locked UPDATE, the ownership events and the audit rows in bulk. Refused with
    nothing written when any of them is not the acting user's own or the pool is not one they may release into."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why you release this customer."), field="reason")
    if not customer_ids:
        raise DomainError(_("Choose the customers to release."))
    with transaction.atomic():
        locked = list(
            Customer.objects.select_for_update()
            .filter(tenant_id=acting_user.tenant_id, pk__in=customer_ids, deleted_at__isnull=True)
            .order_by("pk")
        )
        if len(locked) != len(set(customer_ids)) or any(c.owner_id != acting_user.pk for c in locked):
            raise PermissionDenied(_("Only the owner releases a customer to the pool."))
        if pool is not None and (
            pool.tenant_id != acting_user.tenant_id
            or not releasable_pools(acting_user, {c.pool_id for c in locked}).filter(pk=pool.pk).exists()
        ):
            raise DomainError(_("You may not release customers into this pool."), field="pool")
        # Stamped under the row locks: after whatever event each customer's history recorded before it.
        now = timezone.now()
        changes = {
            "owner": None,
            "owned_since": None,
            "extension_days": 0,
            "fallback_at": None,
            "pooled_at": now,
            "updated_at": now,
        }
        if pool is not None:
            changes["pool"] = pool
        Customer.objects.filter(pk__in=[c.pk for c in locked]).update(**changes)
        OwnershipEvent.objects.bulk_create(
            [
                OwnershipEvent(
                    tenant_id=c.tenant_id,
                    customer=c,
                    from_owner=acting_user,
                    from_pool_id=c.pool_id if pool is not None and pool.pk != c.pool_id else None,
                    to_pool_id=pool.pk if pool is not None else c.pool_id,
                    reason=OwnershipEvent.Reason.RELEASE,
                    note=reason[:500],
                    actor=acting_user,
                    at=now,
                )
                for c in locked
            ]
        )
        audit_many(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="customer.release",
            entries=[
                (c, {"reason": reason, "pool": pool.pk if pool is not None else c.pool_id, "from_pool": c.pool_id})
                for c in locked
            ],
        )
    return len(locked)


def customer_assign(*, acting_user: User, customer_ids: list[int], rep: User) -> int:
    """A manager (or admin) hands pool customers to a rep of their team, within the rep's holding cap."""
    if not acting_user.has_any_role(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(_("Only managers and administrators assign pool customers."))
    if rep.tenant_id != acting_user.tenant_id or not rep.is_active:
        raise DomainError(_("Choose an active colleague."), field="rep")
    if not sales_assignable_users(acting_user).filter(pk=rep.pk).exists():
        raise DomainError(_("Choose a rep of a team you manage."), field="rep")
    assigned = 0
    with transaction.atomic():
        User.objects.select_for_update().get(pk=rep.pk)
        candidates = list(
            Customer.objects.in_pools_for(acting_user)
            .filter(pk__in=customer_ids)
            .select_related("pool")
            .select_for_update(of=("self",))
            .order_by("pk")
        )
        if len(candidates) != len(set(customer_ids)):
            raise DomainError(_("Some of these customers are no longer in a pool you see."))
        # Stamped once the customers' rows are locked, so no assignment is dated before the event that pooled it.
        now = timezone.now()
        holdings_check(rep=rep, adding=len(candidates), field="rep")
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
        fallback_at_refresh(tenant=rep.tenant, ids=[c.pk for c in candidates])
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
        now = timezone.now()
        moved = Customer.objects.filter(pk__in=[pk for pk, _pool in rows])
        moved.update(pool=pool, updated_at=now)
        # Waiting customers came to their new pool now.
        moved.filter(owner__isnull=True).update(pooled_at=now)
        # The new home pool's rules govern the date from now on.
        fallback_at_refresh(tenant=acting_user.tenant, ids=[pk for pk, _pool in rows])
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
                    at=now,
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


def record_pool_view(*, user: User, customer: Customer, now: dt.datetime | None = None) -> int | None:
    """Count an opening of a pool customer against the daily limits that apply: the pool's own (its openings) and
    the tightest role or team quota (openings in every pool). Return the openings left today in this pool (None:
    unlimited). Re-opening the same customer the same day counts once. Raises when a limit is used up. The user's
    row lock makes the check and the count one step: two openings at once at the edge cannot both pass."""
    pool = customer.pool
    day = local_today(user.tenant, now)
    limit = pool.daily_view_limit
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        quotas = quotas_for(user)
        quota = quotas[0] if quotas else None
        today = PoolView.objects.filter(tenant_id=user.tenant_id, user=user, day=day)
        already = today.filter(customer=customer).exists()
        counts = dict(today.order_by().values_list("pool_id").annotate(n=Count("pk")))
        used_here, used_all = counts.get(pool.pk, 0), sum(counts.values())
        if not already:
            if limit is not None and used_here >= limit:
                raise ClaimRefused(
                    _("You have opened %(limit)d pool customers today, the most this pool allows. Try again tomorrow.")
                    % {"limit": limit}
                )
            if quota is not None and used_all >= quota.daily_limit:
                raise ClaimRefused(
                    _(
                        "You have opened %(limit)d pool customers today, the most your daily quota (%(quota)s) "
                        "allows. Try again tomorrow."
                    )
                    % {"limit": quota.daily_limit, "quota": quota}
                )
            PoolView.objects.create(tenant_id=user.tenant_id, user=user, customer=customer, pool=pool, day=day)
            used_here, used_all = used_here + 1, used_all + 1
    left = []
    if limit is not None:
        left.append(limit - used_here)
    if quota is not None:
        left.append(quota.daily_limit - used_all)
    return max(min(left), 0) if left else None


def release_all_of(*, user: User, acting_user: User | None) -> int:
    """A deactivated user's customers go to the pool chosen to receive them (else each one's home pool)."""
    receiver = Pool.objects.filter(tenant_id=user.tenant_id, receives_deactivated=True).first()
    with transaction.atomic():
        rows = list(
            Customer.objects.filter(tenant_id=user.tenant_id, owner=user, owner__isnull=False, deleted_at__isnull=True)
            .select_for_update()
            .values_list("pk", "pool_id")
        )
        if not rows:
            return 0
        now = timezone.now()
        ids = [pk for pk, _pool in rows]
        update = {
            "owner": None,
            "owned_since": None,
            "extension_days": 0,
            "fallback_at": None,
            "pooled_at": now,
            "updated_at": now,
        }
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
