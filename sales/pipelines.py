"""Writes of pipelines, stages and opportunities: configure the pipelines (admins), create and edit opportunities,
move them through the stages (every move recorded for the funnel and cycle-time reports), win (an order is
recorded and the customer's last deal moves) or lose them (with a reason).

Keyword-only functions, atomic, permission-checked and audited; DomainError (translated, naming the field) or
PermissionDenied on refusal, with nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.access import assignable_users, require_admin, require_tenant_user
from crm.errors import DomainError
from crm.models import Tenant, User, local_today
from crm.services.audit import audit
from customers.models import Contact, Customer

from .models import (
    Opportunity,
    OpportunityLine,
    Order,
    Pipeline,
    Stage,
    StageChange,
    StageKind,
    order_currencies,
)
from .services import Line, lines_amount, order_record

# An expected close date further ahead than this is a typo (2062 for 2026), not a plan.
MAX_CLOSE_YEARS = 10


def _default_stage_names() -> list[tuple[str, int]]:
    return [
        (pgettext("pipeline stage", "Qualification"), 10),
        (pgettext("pipeline stage", "Needs analysis"), 30),
        (pgettext("pipeline stage", "Proposal"), 50),
        (pgettext("pipeline stage", "Negotiation"), 75),
    ]


def _create_stages(pipeline: Pipeline, actor: User | None) -> None:
    with translation.override(pipeline.tenant.language):
        stages = [
            Stage(tenant=pipeline.tenant, pipeline=pipeline, name=name, probability=p, position=i, created_by=actor)
            for i, (name, p) in enumerate(_default_stage_names())
        ]
        stages.append(
            Stage(
                tenant=pipeline.tenant,
                pipeline=pipeline,
                name=pgettext("pipeline stage", "Won"),
                kind=StageKind.WON,
                probability=100,
                position=0,
                created_by=actor,
            )
        )
        stages.append(
            Stage(
                tenant=pipeline.tenant,
                pipeline=pipeline,
                name=pgettext("pipeline stage", "Lost"),
                kind=StageKind.LOST,
                probability=0,
                position=0,
                created_by=actor,
            )
        )
    Stage.objects.bulk_create(stages)


def ensure_default_pipeline(tenant: Tenant) -> Pipeline:
    """The tenant's first pipeline, created with the default stages if it has none (new tenants, and tenants that
    existed before pipelines did). Idempotent."""
    pipeline = Pipeline.objects.filter(tenant=tenant).order_by("position", "pk").first()
    if pipeline is not None:
        return pipeline
    with transaction.atomic(), translation.override(tenant.language):
        pipeline, created = Pipeline.objects.get_or_create(
            tenant=tenant, name=pgettext("pipeline", "New business"), defaults={"position": 0}
        )
        if created:
            _create_stages(pipeline, None)
    return pipeline


def pipeline_create(*, acting_user: User, name: str) -> Pipeline:
    """A new pipeline with the default stages (which the admin then renames, reorders and adjusts)."""
    require_admin(acting_user)
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the pipeline a name."), field="name")
    tenant = acting_user.tenant
    try:
        with transaction.atomic():
            last = Pipeline.objects.filter(tenant=tenant).aggregate(m=Max("position"))["m"]
            pipeline = Pipeline.objects.create(
                tenant=tenant, name=name[:100], position=(last + 1) if last is not None else 0, created_by=acting_user
            )
            _create_stages(pipeline, acting_user)
            audit(tenant=tenant, actor=acting_user, action="pipeline.create", obj=pipeline)
    except IntegrityError as exc:
        raise DomainError(_("A pipeline with this name already exists."), field="name") from exc
    return pipeline


def pipeline_update(*, acting_user: User, pipeline: Pipeline, name: str, is_active: bool) -> Pipeline:
    require_admin(acting_user)
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the pipeline a name."), field="name")
    try:
        with transaction.atomic():
            pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk, tenant_id=acting_user.tenant_id)
            if not is_active and pipeline.is_active:
                others = Pipeline.objects.filter(tenant_id=pipeline.tenant_id, is_active=True).exclude(pk=pipeline.pk)
                if not others.exists():
                    raise DomainError(_("Keep at least one pipeline in use."), field="is_active")
            changes = {}
            if pipeline.name != name:
                changes["name"] = [pipeline.name, name]
            if pipeline.is_active != is_active:
                changes["active"] = [pipeline.is_active, is_active]
            pipeline.name, pipeline.is_active = name[:100], is_active
            pipeline.save()
            if changes:
                audit(
                    tenant=pipeline.tenant, actor=acting_user, action="pipeline.update", obj=pipeline, details=changes
                )
    except IntegrityError as exc:
        raise DomainError(_("A pipeline with this name already exists."), field="name") from exc
    return pipeline


def pipeline_delete(*, acting_user: User, pipeline: Pipeline) -> None:
    """Only a pipeline that never held an opportunity is deleted; otherwise it is taken out of use instead."""
    require_admin(acting_user)
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk, tenant_id=acting_user.tenant_id)
        if Opportunity.objects.filter(pipeline=pipeline).exists():
            raise DomainError(_("This pipeline has opportunities; take it out of use instead of deleting it."))
        if not Pipeline.objects.filter(tenant_id=pipeline.tenant_id).exclude(pk=pipeline.pk).exists():
            raise DomainError(_("A company needs at least one pipeline."))
        audit(tenant=pipeline.tenant, actor=acting_user, action="pipeline.delete", obj=pipeline)
        pipeline.delete()


def _check_probability(value: Any, field: str = "probability") -> int:
    if value is None or not isinstance(value, int) or not 0 <= value <= 100:
        raise DomainError(_("A probability is a whole number from 0 to 100."), field=field)
    return value


def stage_save(
    *, acting_user: User, pipeline: Pipeline, name: str, probability: int | None = None, stage: Stage | None = None
) -> Stage:
    """Add an open stage at the end of the open stages, or rename a stage / change an open stage's probability
    (won is always 100 %, lost 0 %)."""
    require_admin(acting_user)
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the stage a name."), field="name")
    tenant = acting_user.tenant
    if pipeline.tenant_id != tenant.pk:
        raise PermissionDenied
    try:
        with transaction.atomic():
            Pipeline.objects.select_for_update().get(pk=pipeline.pk)
            if stage is None:
                probability = _check_probability(probability)
                last = Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN).aggregate(m=Max("position"))["m"]
                stage = Stage.objects.create(
                    tenant=tenant,
                    pipeline=pipeline,
                    name=name[:100],
                    probability=probability,
                    position=(last + 1) if last is not None else 0,
                    created_by=acting_user,
                )
                audit(tenant=tenant, actor=acting_user, action="stage.create", obj=stage, details={"p": probability})
                return stage
            stage = Stage.objects.select_for_update().get(pk=stage.pk, pipeline=pipeline)
            changes = {}
            if stage.name != name:
                changes["name"] = [stage.name, name]
            stage.name = name[:100]
            if stage.kind == StageKind.OPEN and probability is not None:
                probability = _check_probability(probability)
                if probability != stage.probability:
                    changes["probability"] = [stage.probability, probability]
                stage.probability = probability
            stage.save()
            if changes:
                audit(tenant=tenant, actor=acting_user, action="stage.update", obj=stage, details=changes)
    except IntegrityError as exc:
        raise DomainError(_("This pipeline already has a stage with this name."), field="name") from exc
    return stage


def stage_move(*, acting_user: User, stage: Stage, up: bool) -> Stage:
    """Swap an open stage with its neighbour (won and lost always come last)."""
    require_admin(acting_user)
    if stage.tenant_id != acting_user.tenant_id:
        raise PermissionDenied
    if stage.kind != StageKind.OPEN:
        raise DomainError(_("Won and lost always come last."))
    with transaction.atomic():
        Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
        stages = list(
            Stage.objects.filter(pipeline_id=stage.pipeline_id, kind=StageKind.OPEN).order_by("position", "pk")
        )
        index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
        other = index - 1 if up else index + 1
        if not 0 <= other < len(stages):
            return stage
        stages[index], stages[other] = stages[other], stages[index]
        for position, item in enumerate(stages):
            if item.position != position:
                Stage.objects.filter(pk=item.pk).update(position=position, updated_at=timezone.now())
        audit(tenant=stage.tenant, actor=acting_user, action="stage.move", obj=stage, details={"up": up})
    stage.refresh_from_db()
    return stage


def stage_remove(*, acting_user: User, stage: Stage) -> str:
    """Delete an open stage nothing ever passed through; take one with history out of use (its history stays for
    the reports). Refused while opportunities are in it. Returns "deleted" or "archived"."""
    require_admin(acting_user)
    if stage.tenant_id != acting_user.tenant_id:
        raise PermissionDenied
    if stage.kind != StageKind.OPEN:
        raise DomainError(_("Every pipeline keeps its won and lost stages."))
    with transaction.atomic():
        Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
        stage = Stage.objects.select_for_update().get(pk=stage.pk)
        count = Opportunity.objects.filter(stage=stage).count()
        if count:
            raise DomainError(
                _("%(count)d opportunities are in this stage; move them to another stage first.") % {"count": count}
            )
        remaining = Stage.objects.filter(pipeline_id=stage.pipeline_id, kind=StageKind.OPEN, is_active=True)
        if not remaining.exclude(pk=stage.pk).exists():
            raise DomainError(_("A pipeline needs at least one open stage."))
        used = (
            StageChange.objects.filter(to_stage=stage).exists() or StageChange.objects.filter(from_stage=stage).exists()
        )
        if used:
            stage.is_active = False
            stage.save(update_fields=["is_active", "updated_at"])
            audit(tenant=stage.tenant, actor=acting_user, action="stage.archive", obj=stage)
            return "archived"
        audit(tenant=stage.tenant, actor=acting_user, action="stage.delete", obj=stage)
        stage.delete()
        return "deleted"


def stage_restore(*, acting_user: User, stage: Stage) -> Stage:
    require_admin(acting_user)
    if stage.tenant_id != acting_user.tenant_id:
        raise PermissionDenied
    with transaction.atomic():
        changed = Stage.objects.filter(pk=stage.pk, is_active=False).update(is_active=True, updated_at=timezone.now())
        if changed:
            audit(tenant=stage.tenant, actor=acting_user, action="stage.restore", obj=stage)
    stage.refresh_from_db()
    return stage


# --- opportunities -------------------------------------------------------------------------------------------


def can_change_opportunity(user: User, opportunity: Opportunity) -> bool:
    """Whoever sees an opportunity may work on it: its owner, the owner's managers, admins."""
    return (
        opportunity.tenant_id == user.tenant_id
        and Opportunity.objects.visible_to(user).filter(pk=opportunity.pk).exists()
    )


def _check_amount(amount: Decimal | None, lines: Sequence[Line]) -> Decimal:
    amount = lines_amount(amount, lines)
    if amount is None:
        return Decimal("0")
    if amount < 0:
        raise DomainError(_("The amount cannot be negative."), field="amount")
    if amount >= Decimal("1e12"):
        raise DomainError(_("The amount is too large."), field="amount")
    return amount


def _check_close_date(value: date | None, tenant: Tenant) -> None:
    if value is None:
        return
    today = local_today(tenant)
    if value < today:
        raise DomainError(
            _("The expected close date is in the past; choose today or a later day."), field="expected_close_date"
        )
    if value > today + timedelta(days=366 * MAX_CLOSE_YEARS):
        raise DomainError(
            _("The expected close date is more than %(years)d years ahead; check the year.")
            % {"years": MAX_CLOSE_YEARS},
            field="expected_close_date",
        )


def _check_currency(currency: str, tenant: Tenant) -> None:
    allowed = order_currencies(tenant)
    if currency not in allowed:
        raise DomainError(
            _("%(code)s is not a currency your company uses; choose one of %(allowed)s.")
            % {"code": currency or "—", "allowed": ", ".join(allowed)},
            field="currency",
        )


def _check_owner(acting_user: User, owner: User) -> None:
    if owner.tenant_id != acting_user.tenant_id or not assignable_users(acting_user).filter(pk=owner.pk).exists():
        raise DomainError(_("Choose yourself or an active member of a team you manage."), field="owner")


def _check_contact(contact: Contact | None, customer: Customer) -> None:
    if contact is not None and (contact.customer_id != customer.pk or contact.tenant_id != customer.tenant_id):
        raise DomainError(_("Choose a contact of this customer."), field="contact")


def _stage_for_new(pipeline: Pipeline | None, stage: Stage | None, tenant: Tenant) -> tuple[Pipeline, Stage]:
    if pipeline is None or pipeline.tenant_id != tenant.pk or not pipeline.is_active:
        raise DomainError(_("Choose a pipeline in use."), field="pipeline")
    if stage is None:
        stage = Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN, is_active=True).ordered().first()
        if stage is None:
            raise DomainError(_("This pipeline has no open stage."), field="stage")
        return pipeline, stage
    if stage.tenant_id != tenant.pk or stage.pipeline_id != pipeline.pk:
        raise DomainError(_("Choose a stage of the pipeline “%(name)s”.") % {"name": pipeline.name}, field="stage")
    if not stage.is_active:
        raise DomainError(_("This stage is no longer in use."), field="stage")
    if stage.kind != StageKind.OPEN:
        raise DomainError(_("A new opportunity starts in an open stage."), field="stage")
    return pipeline, stage


def _write_lines(opportunity: Opportunity, lines: Sequence[Line]) -> None:
    OpportunityLine.objects.filter(opportunity=opportunity).delete()
    OpportunityLine.objects.bulk_create(
        [
            OpportunityLine(
                tenant_id=opportunity.tenant_id,
                opportunity=opportunity,
                position=i,
                name=line.name.strip()[:200],
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for i, line in enumerate(lines)
        ]
    )


def opportunity_create(
    *,
    acting_user: User,
    customer: Customer,
    name: str,
    pipeline: Pipeline | None,
    stage: Stage | None = None,
    amount: Decimal | None = None,
    currency: str = "",
    expected_close_date: date | None = None,
    owner: User | None = None,
    contact: Contact | None = None,
    probability: int | None = None,
    lines: Sequence[Line] = (),
    notes: str = "",
    lead=None,
) -> Opportunity:
    """A new opportunity for a customer the user may change, in an open stage of a pipeline in use (by default
    its first). Its entry into that stage is the first row of its stage history."""
    require_tenant_user(acting_user)
    tenant = acting_user.tenant
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the opportunity a name."), field="name")
    if customer is None or not Customer.objects.editable_by(acting_user).filter(pk=customer.pk).exists():
        raise DomainError(_("Choose a customer you may change."), field="customer")
    owner = owner or acting_user
    if owner.pk != acting_user.pk:
        _check_owner(acting_user, owner)
    _check_contact(contact, customer)
    currency = currency or tenant.currency
    _check_currency(currency, tenant)
    lines = list(lines)
    amount = _check_amount(amount, lines)
    _check_close_date(expected_close_date, tenant)
    if probability is not None:
        _check_probability(probability)
    pipeline, stage = _stage_for_new(pipeline, stage, tenant)
    now = timezone.now()
    with transaction.atomic():
        opportunity = Opportunity.objects.create(
            tenant=tenant,
            name=name[:200],
            customer=customer,
            contact=contact,
            pipeline=pipeline,
            stage=stage,
            status=StageKind.OPEN,
            owner=owner,
            amount=amount,
            currency=currency,
            expected_close_date=expected_close_date,
            probability_override=probability,
            stage_entered_at=now,
            notes=notes or "",
            lead=lead,
            created_by=acting_user,
        )
        _write_lines(opportunity, lines)
        StageChange.objects.create(
            tenant=tenant,
            opportunity=opportunity,
            pipeline=pipeline,
            from_stage=None,
            to_stage=stage,
            at=now,
            by=acting_user,
            amount=amount,
            currency=currency,
            created_by=acting_user,
        )
        audit(
            tenant=tenant,
            actor=acting_user,
            action="opportunity.create",
            obj=opportunity,
            details={
                "customer": customer.pk,
                "pipeline": pipeline.pk,
                "stage": stage.pk,
                "amount": str(amount),
                "currency": currency,
                "owner": owner.pk,
                "lead": lead.pk if lead else None,
            },
        )
    return opportunity


def _snapshot(opportunity: Opportunity) -> dict[str, Any]:
    return {
        "name": opportunity.name,
        "amount": str(opportunity.amount),
        "currency": opportunity.currency,
        "expected_close_date": opportunity.expected_close_date.isoformat() if opportunity.expected_close_date else None,
        "probability": opportunity.probability_override,
        "contact": opportunity.contact_id,
        "owner": opportunity.owner_id,
        "notes": opportunity.notes,
    }


def opportunity_update(
    *,
    acting_user: User,
    opportunity: Opportunity,
    name: str,
    amount: Decimal | None,
    currency: str,
    expected_close_date: date | None,
    probability: int | None,
    contact: Contact | None,
    owner: User,
    notes: str = "",
    lines: Sequence[Line] | None = None,
) -> Opportunity:
    """Change an opportunity's details. A won one keeps its amount and currency: they are its order's."""
    require_tenant_user(acting_user)
    if not can_change_opportunity(acting_user, opportunity):
        raise PermissionDenied(_("This opportunity is not yours."))
    tenant = acting_user.tenant
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the opportunity a name."), field="name")
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        if owner.pk != opportunity.owner_id:
            _check_owner(acting_user, owner)
        _check_contact(contact, opportunity.customer)
        _check_currency(currency, tenant)
        if lines is None:
            current = list(OpportunityLine.objects.filter(opportunity=opportunity))
            line_values = [Line(name=li.name, quantity=li.quantity, unit_price=li.unit_price) for li in current]
            amount = _check_amount(amount, line_values if amount is None else [])
        else:
            lines = list(lines)
            amount = _check_amount(amount, lines)
        if expected_close_date != opportunity.expected_close_date:
            _check_close_date(expected_close_date, tenant)
        if probability is not None:
            _check_probability(probability)
        if opportunity.status == StageKind.WON and (
            amount != opportunity.amount or currency != opportunity.currency or lines is not None
        ):
            raise DomainError(_("A won opportunity keeps the amount of its order."), field="amount")
        before = _snapshot(opportunity)
        opportunity.name, opportunity.amount, opportunity.currency = name[:200], amount, currency
        opportunity.expected_close_date, opportunity.probability_override = expected_close_date, probability
        opportunity.contact, opportunity.owner, opportunity.notes = contact, owner, notes or ""
        opportunity.save()
        if lines is not None:
            _write_lines(opportunity, lines)
        after = _snapshot(opportunity)
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if changes or lines is not None:
            audit(tenant=tenant, actor=acting_user, action="opportunity.update", obj=opportunity, details=changes)
    return opportunity


def opportunity_move(
    *, acting_user: User, opportunity: Opportunity, stage: Stage | None, lost_reason: str = ""
) -> Opportunity:
    """Move an opportunity to another stage of its pipeline, recorded in its stage history. Winning records an
    order (the opportunity's amount, currency and product lines; the customer's last deal moves forward); losing
    needs a reason. A won opportunity whose order stands is not moved again. The probability returns to the new
    stage's."""
    require_tenant_user(acting_user)
    tenant = acting_user.tenant
    lost_reason = (lost_reason or "").strip()
    with transaction.atomic():
        opportunity = (
            Opportunity.objects.visible_to(acting_user)
            .select_related("stage", "customer", "pipeline")
            .select_for_update(of=("self",))
            .filter(pk=opportunity.pk)
            .first()
        )
        if opportunity is None:
            raise PermissionDenied(_("This opportunity is not yours."))
        if stage is None or stage.tenant_id != tenant.pk or stage.pipeline_id != opportunity.pipeline_id:
            raise DomainError(
                _("Choose a stage of the pipeline “%(name)s”.") % {"name": opportunity.pipeline.name}, field="stage"
            )
        if stage.pk == opportunity.stage_id:
            return opportunity
        if not stage.is_active:
            raise DomainError(_("This stage is no longer in use."), field="stage")
        if opportunity.status == StageKind.WON and opportunity.order_id:
            if Order.objects.filter(pk=opportunity.order_id, voided_at__isnull=True).exists():
                raise DomainError(
                    _("This opportunity is won and its order is recorded; void the order before moving it."),
                    field="stage",
                )
        if stage.kind == StageKind.LOST and not lost_reason:
            raise DomainError(_("Say why the opportunity was lost."), field="lost_reason")
        if len(lost_reason) > 300:
            raise DomainError(_("Too long: at most %(max)d characters.") % {"max": 300}, field="lost_reason")
        now = timezone.now()
        previous = opportunity.stage
        order = None
        if stage.kind == StageKind.WON:
            if opportunity.amount <= 0:
                raise DomainError(
                    _("Enter the amount before marking the opportunity won: it becomes the order."), field="amount"
                )
            lines = [
                Line(name=li.name, quantity=li.quantity, unit_price=li.unit_price)
                for li in OpportunityLine.objects.filter(opportunity=opportunity).order_by("position", "pk")
            ]
            order = order_record(
                acting_user=acting_user,
                customer=opportunity.customer,
                ordered_on=local_today(tenant),
                currency=opportunity.currency,
                amount=opportunity.amount,
                lines=lines,
                items_text="" if lines else opportunity.name,
                notes=_("Won opportunity “%(name)s”") % {"name": opportunity.name},
            )
            opportunity.order = order
        opportunity.stage = stage
        opportunity.status = stage.kind
        opportunity.stage_entered_at = now
        opportunity.probability_override = None
        opportunity.closed_at = now if stage.kind != StageKind.OPEN else None
        opportunity.lost_reason = lost_reason[:300] if stage.kind == StageKind.LOST else ""
        opportunity.save()
        StageChange.objects.create(
            tenant=tenant,
            opportunity=opportunity,
            pipeline_id=opportunity.pipeline_id,
            from_stage=previous,
            to_stage=stage,
            at=now,
            by=acting_user,
            amount=opportunity.amount,
            currency=opportunity.currency,
            note=lost_reason[:300] if stage.kind == StageKind.LOST else "",
            created_by=acting_user,
        )
        audit(
            tenant=tenant,
            actor=acting_user,
            action="opportunity.move",
            obj=opportunity,
            details={
                "from": previous.pk,
                "to": stage.pk,
                "status": stage.kind,
                "reason": opportunity.lost_reason,
                "order": order.pk if order else None,
            },
        )
    return opportunity
