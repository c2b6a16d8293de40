"""Lead pools (线索池): claiming a pool lead (race-free, with the pool's daily claims and re-claim cooldown),
releasing a lead into a pool the rep chooses, managers assigning pool leads, the pools' settings, and extension
requests before a lead falls back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from crm.access import require_admin, require_sales_user, sales_assignable_users
from crm.approvals.models import ApprovalRequest
from crm.errors import DomainError
from crm.models import Role, Team, Tenant, User
from crm.registry import ApprovalPolicy, ApprovalStepRule
from crm.selectors.pool_limits import cooldown_until
from crm.services.audit import audit
from crm.services.notification import lazy_format, notify
from customers.models import Tag
from customers.services.extension import ownership_extension_decide, ownership_extension_submit
from sales.models import (
    Lead,
    LeadExtensionRequest,
    LeadOwnershipEvent,
    LeadPool,
    LeadPoolRule,
    LeadPoolTeam,
    Product,
)
from sales.selectors.lead_pool import OPEN_STATUSES, lead_claims_today


class LeadClaimRefused(DomainError):
    """A claim the pool's rules or a faster colleague refused; the message says which."""


def _check_can_claim(rep: User, lead: Lead, pool: LeadPool, now: dt.datetime) -> None:
    """The pool's daily claims and the re-claim cooldown; raise with the rule that stops the claim."""
    if pool.max_claims_per_day is not None:
        used = lead_claims_today(rep, [pool.pk], now).get(pool.pk, 0)
        if used >= pool.max_claims_per_day:
            raise LeadClaimRefused(
                _("You have used today's %(count)d lead claims from this pool; try again tomorrow.")
                % {"count": pool.max_claims_per_day}
            )
    until = cooldown_until(LeadOwnershipEvent.objects.filter(lead=lead), rep, pool.reclaim_cooldown_days, now)
    if until is not None:
        raise LeadClaimRefused(
            _("You gave this lead up recently; you may claim it again from %(date)s.")
            % {"date": timezone.localtime(until, rep.tenant.tzinfo).strftime("%Y-%m-%d %H:%M")}
        )


def _too_late(lead: Lead | None) -> LeadClaimRefused:
    # The winner's name is read on its own: a join made before a row lock was waited for shows the row's old owner.
    name = User.objects.filter(pk=lead.owner_id).values_list("full_name", flat=True).first() if lead else None
    return LeadClaimRefused(_("Too late: %(name)s claimed this lead first.") % {"name": name or _("someone")})


def lead_claim(*, rep: User, lead_id: int, now: dt.datetime | None = None) -> Lead:
    """A rep claims a lead from a lead pool they see. Atomic and race-free: the rep's row is locked while their
    daily claims are counted, and the lead's row is locked before anything is decided, so exactly one of many
    simultaneous claimers wins and the others learn who did."""
    require_sales_user(rep)
    lead = Lead.objects.in_pools_for(rep).select_related("pool").filter(pk=lead_id).first()
    if lead is None:
        taken = Lead.objects.filter(pk=lead_id, tenant_id=rep.tenant_id).first()
        if (
            taken is not None
            and taken.owner_id
            and taken.pool_id
            and LeadPool.objects.visible_to(rep).filter(pk=taken.pool_id).exists()
        ):
            raise _too_late(taken)
        raise Lead.DoesNotExist
    pool = lead.pool
    with transaction.atomic():
        # One rep's claims are serialized, so concurrent claims never exceed the pool's daily claims.
        User.objects.select_for_update().get(pk=rep.pk)
        locked = Lead.objects.select_for_update().filter(pk=lead.pk, tenant_id=rep.tenant_id).first()
        if locked is None or locked.owner_id is not None or locked.pool_id != pool.pk:
            raise _too_late(locked)
        now = now or timezone.now()
        _check_can_claim(rep, lead, pool, now)
        Lead.objects.filter(pk=lead.pk, owner__isnull=True).update(
            owner=rep, owned_since=now, extension_days=0, updated_at=now
        )
        LeadOwnershipEvent.objects.create(
            tenant_id=rep.tenant_id,
            lead_id=lead.pk,
            to_owner=rep,
            from_pool=pool,
            reason=LeadOwnershipEvent.Reason.CLAIM,
            actor=rep,
            at=now,
        )
        audit(tenant=rep.tenant, actor=rep, action="lead.claim", obj=lead, details={"pool": pool.pk})
    lead.refresh_from_db()
    return lead


def lead_release(*, acting_user: User, lead: Lead, pool: LeadPool | None, reason: str) -> Lead:
    """The owner gives a lead back to a lead pool they may see (their choice, the lead's home pool preselected),
    with a reason. The chosen pool becomes the lead's home pool."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why you release this lead."), field="reason")
    if pool is None or not LeadPool.objects.visible_to(acting_user).filter(pk=pool.pk).exists():
        raise DomainError(_("Choose a lead pool you may release into."), field="pool")
    with transaction.atomic():
        locked = Lead.objects.select_for_update().filter(pk=lead.pk, tenant_id=acting_user.tenant_id).first()
        if locked is None or locked.owner_id != acting_user.pk:
            raise PermissionDenied(_("Only the owner releases a lead to a lead pool."))
        if locked.status not in OPEN_STATUSES:
            raise DomainError(_("Only open leads go to a lead pool."))
        now = timezone.now()
        Lead.objects.filter(pk=locked.pk).update(
            owner=None, owned_since=None, extension_days=0, pool=pool, updated_at=now
        )
        LeadOwnershipEvent.objects.create(
            tenant_id=locked.tenant_id,
            lead=locked,
            from_owner=acting_user,
            from_pool_id=locked.pool_id,
            to_pool=pool,
            reason=LeadOwnershipEvent.Reason.RELEASE,
            note=reason[:500],
            actor=acting_user,
            at=now,
        )
        audit(
            tenant=locked.tenant,
            actor=acting_user,
            action="lead.release",
            obj=locked,
            details={"reason": reason, "pool": pool.pk},
        )
    locked.refresh_from_db()
    return locked


def lead_pool_assign(*, acting_user: User, lead_ids: list[int], rep: User) -> int:
    """A manager (or admin) hands pool leads to a rep of their team."""
    if not acting_user.has_any_role(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(_("Only managers and administrators assign pool leads."))
    if rep is None or not sales_assignable_users(acting_user).filter(pk=rep.pk).exists():
        raise DomainError(_("Choose a rep of a team you manage."), field="rep")
    ids = sorted(set(lead_ids))
    if not ids:
        raise DomainError(_("Choose at least one lead."))
    with transaction.atomic():
        candidates = list(
            Lead.objects.in_pools_for(acting_user).filter(pk__in=ids).select_for_update(of=("self",)).order_by("pk")
        )
        if len(candidates) != len(ids):
            raise DomainError(_("Some of these leads are no longer in a lead pool you see."))
        now = timezone.now()
        Lead.objects.filter(pk__in=ids, owner__isnull=True).update(
            owner=rep, owned_since=now, extension_days=0, updated_at=now
        )
        LeadOwnershipEvent.objects.bulk_create(
            [
                LeadOwnershipEvent(
                    tenant_id=rep.tenant_id,
                    lead=lead,
                    from_pool_id=lead.pool_id,
                    to_owner=rep,
                    reason=LeadOwnershipEvent.Reason.ASSIGN,
                    actor=acting_user,
                    at=now,
                )
                for lead in candidates
            ]
        )
        audit(
            tenant=rep.tenant,
            actor=acting_user,
            action="lead.pool_assign",
            details={"leads": ids, "to": rep.pk},
        )
        if rep.pk != acting_user.pk:
            notify(
                recipient=rep,
                title=lazy_format(
                    ngettext_lazy(
                        "%(count)d pool lead was assigned to you",
                        "%(count)d pool leads were assigned to you",
                        len(ids),
                    ),
                    count=len(ids),
                ),
                body=", ".join(str(lead) for lead in candidates[:20]),
                url=reverse("sales:lead_list") + "?owner=me",
                email=False,
            )
    return len(ids)


# --- settings ----------------------------------------------------------------------------------------------------

POOL_FIELDS = (
    "name",
    "is_default",
    "no_followup_days",
    "no_conversion_days",
    "warn_days_before",
    "extension_days",
    "max_claims_per_day",
    "reclaim_cooldown_days",
)


def lead_pool_save(
    *,
    acting_user: User,
    pool: LeadPool | None,
    values: dict[str, Any],
    teams: list[Team],
    source_rules: dict[str, tuple[int | None, int | None]],
    product_rules: dict[int, tuple[int | None, int | None]] | None = None,
    tag_rules: dict[int, tuple[int | None, int | None]] | None = None,
) -> LeadPool:
    """Admins create or change a lead pool: its rules, the teams that see it, its per-source rules and its rules per
    product line and per lead tag (keyed by product and tag id)."""
    require_admin(acting_user)
    if any(t.tenant_id != acting_user.tenant_id for t in teams):
        raise PermissionDenied
    product_rules = product_rules or {}
    if len(Product.objects.filter(tenant_id=acting_user.tenant_id, pk__in=list(product_rules))) != len(product_rules):
        raise DomainError(_("Choose products of your company's catalogue."))
    tag_rules = tag_rules or {}
    if len(Tag.objects.filter(tenant_id=acting_user.tenant_id, pk__in=list(tag_rules))) != len(tag_rules):
        raise DomainError(_("Choose one of your company's tags."))
    creating = pool is None
    pool = pool or LeadPool(tenant=acting_user.tenant, created_by=acting_user)
    for field in POOL_FIELDS:
        setattr(pool, field, values.get(field))
    pool.is_default = bool(values.get("is_default"))
    try:
        with transaction.atomic():
            if pool.is_default:
                LeadPool.objects.filter(tenant_id=acting_user.tenant_id, is_default=True).exclude(pk=pool.pk).update(
                    is_default=False
                )
            pool.save()
            if pool.is_default:
                lead_pool_adopt_leads(tenant=acting_user.tenant, pool=pool, actor=acting_user)
            LeadPoolTeam.objects.filter(pool=pool).exclude(team__in=teams).delete()
            for team in teams:
                LeadPoolTeam.objects.get_or_create(tenant_id=pool.tenant_id, pool=pool, team=team)
            LeadPoolRule.objects.filter(pool=pool).exclude(source="").exclude(source__in=list(source_rules)).delete()
            LeadPoolRule.objects.filter(pool=pool, product__isnull=False).exclude(
                product_id__in=list(product_rules)
            ).delete()
            LeadPoolRule.objects.filter(pool=pool, tag__isnull=False).exclude(tag_id__in=list(tag_rules)).delete()
            for source, (followup, conversion) in source_rules.items():
                LeadPoolRule.objects.update_or_create(
                    tenant_id=pool.tenant_id,
                    pool=pool,
                    source=source,
                    defaults={"no_followup_days": followup, "no_conversion_days": conversion},
                )
            for product_id, (followup, conversion) in product_rules.items():
                LeadPoolRule.objects.update_or_create(
                    tenant_id=pool.tenant_id,
                    pool=pool,
                    product_id=product_id,
                    defaults={"no_followup_days": followup, "no_conversion_days": conversion},
                )
            for tag_id, (followup, conversion) in tag_rules.items():
                LeadPoolRule.objects.update_or_create(
                    tenant_id=pool.tenant_id,
                    pool=pool,
                    tag_id=tag_id,
                    defaults={"no_followup_days": followup, "no_conversion_days": conversion},
                )
            audit(
                tenant=acting_user.tenant,
                actor=acting_user,
                action="lead_pool.create" if creating else "lead_pool.update",
                obj=pool,
                details={
                    **{f: values.get(f) for f in POOL_FIELDS},
                    "teams": [t.pk for t in teams],
                    "source_rules": {s: list(r) for s, r in source_rules.items()},
                    "product_rules": {str(p): list(r) for p, r in product_rules.items()},
                    "tag_rules": {str(t): list(r) for t, r in tag_rules.items()},
                },
            )
    except IntegrityError as exc:
        raise DomainError(_("A lead pool with this name exists already."), field="name") from exc
    return pool


def lead_pool_adopt_leads(
    *, tenant: Tenant, pool: LeadPool | None = None, actor: User | None = None, now: dt.datetime | None = None
) -> int:
    """Open leads with no lead pool (made before lead pools existed, or while the company had no default pool) join
    `pool` (default: the company's default lead pool). One UPDATE; idempotent (a second run finds none).

    An owned lead's ownership clock starts at the adoption when it has none: each rep then has the pool's whole
    period, with the warning ladder before the end, instead of every old lead falling back at the next run as its
    age or its last follow-up would make it. Leads nobody owns simply wait in the pool."""
    pool = pool or LeadPool.objects.filter(tenant=tenant, is_default=True).first()
    if pool is None:
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        adopted = Lead.objects.filter(tenant=tenant, pool__isnull=True, status__in=OPEN_STATUSES).update(
            pool=pool,
            owned_since=Case(
                When(owner__isnull=False, owned_since__isnull=True, then=Value(now)),
                default=F("owned_since"),
                output_field=DateTimeField(),
            ),
        )
        if adopted:
            audit(
                tenant=tenant,
                actor=actor,
                action="lead_pool.adopt",
                obj=pool,
                details={"leads": adopted},
            )
    return adopted


# --- extension requests ------------------------------------------------------------------------------------------

LEAD_EXTENSION_KIND = "lead_pool.extension"


def lead_extension_request(*, acting_user: User, lead: Lead, reason: str) -> LeadExtensionRequest:
    """The owner asks for more time before a lead falls back, once per ownership period; the rep's manager (else an
    administrator) decides (customers' extension machinery, on leads)."""
    if lead.pool_id is None:
        raise DomainError(_("This lead has no lead pool, so it does not fall back."))
    return ownership_extension_submit(
        acting_user=acting_user,
        record=lead,
        request_model=LeadExtensionRequest,
        kind=LEAD_EXTENSION_KIND,
        reason=reason,
        already=_("An extension was already asked for this lead while you hold it."),
        action="lead.extension_request",
    )


def lead_extension_decided(approval: ApprovalRequest, request: LeadExtensionRequest) -> None:
    """The approvals engine's outcome: an approval postpones the lead's fall-back by its pool's extension days."""

    def history(lead: Lead, request: LeadExtensionRequest, days: int) -> None:
        LeadOwnershipEvent.objects.create(
            tenant_id=lead.tenant_id,
            lead=lead,
            from_owner_id=lead.owner_id,
            to_owner_id=lead.owner_id,
            reason=LeadOwnershipEvent.Reason.EXTENSION,
            note=_("Fall-back postponed by %(days)d days: %(reason)s") % {"days": days, "reason": request.reason},
            actor=approval.decided_by,
        )

    ownership_extension_decide(
        approval,
        request,
        record_field="lead",
        gone=_("The rep no longer holds this lead."),
        days_of=lambda lead: lead.pool.extension_days if lead.pool_id else 0,
        on_approved=history,
        action="lead.extension",
    )


def lead_extension_policy() -> ApprovalPolicy:
    """What sales registers with the approvals engine (from SalesConfig.ready)."""
    return ApprovalPolicy(
        key=LEAD_EXTENSION_KIND,
        label=gettext_lazy("Lead pool extension"),
        model="sales.leadextensionrequest",
        steps=lambda tenant, request: [
            ApprovalStepRule(approver=Role.MANAGER, label=gettext_lazy("The rep's manager")),
        ],
        on_decided=lead_extension_decided,
        url=lambda request: reverse("sales:lead_detail", args=[request.lead_id]),
    )
