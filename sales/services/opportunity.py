"""Writes of opportunities: create, edit, move between stages (a won one records an order), each change in the
stage history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import require_tenant_user, sales_assignable_users
from crm.api.services.custom_field import custom_values_clean
from crm.api.services.webhook import webhook_emit
from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.audit import audit
from crm.workcalendar.selectors import local_today
from customers.access import lock_customer, lock_customer_for_change
from customers.models import Contact, Customer
from sales.access import can_change_opportunity
from sales.models import (
    Opportunity,
    OpportunityLine,
    Order,
    OrderStatus,
    Pipeline,
    Stage,
    StageChange,
    StageKind,
    order_currencies,
)
from sales.services.order import Line, check_line_products, lines_amount, lines_priced, order_record
from sales.services.pipeline import check_probability

# An expected close date further ahead than this is a typo (2062 for 2026), not a plan.
MAX_CLOSE_YEARS = 10


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
    if owner.tenant_id != acting_user.tenant_id or not sales_assignable_users(acting_user).filter(pk=owner.pk).exists():
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
    check_line_products(opportunity.tenant_id, lines)
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
                product=line.product,
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
    custom: dict | None = None,
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
    check_line_products(tenant.pk, lines)
    lines = lines_priced(customer, lines)
    amount = _check_amount(amount, lines)
    _check_close_date(expected_close_date, tenant)
    if probability is not None:
        check_probability(probability)
    pipeline, stage = _stage_for_new(pipeline, stage, tenant)
    custom = custom_values_clean(tenant_id=tenant.pk, kind="opportunity", values=custom) if custom is not None else {}
    now = timezone.now()
    with transaction.atomic():
        # Checked again under the customer's lock: a transfer that won the row first leaves nothing created.
        customer = lock_customer_for_change(acting_user, customer.pk)
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
            custom=custom,
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
        "custom": opportunity.custom,
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
    custom: dict | None = None,
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
            current = list(OpportunityLine.objects.filter(opportunity=opportunity).select_related("product"))
            line_values = [
                Line(name=li.name, quantity=li.quantity, unit_price=li.unit_price, product=li.product) for li in current
            ]
            amount = _check_amount(amount, line_values if amount is None else [])
        else:
            check_line_products(tenant.pk, lines)
            lines = lines_priced(opportunity.customer, lines)
            amount = _check_amount(amount, lines)
        if expected_close_date != opportunity.expected_close_date:
            _check_close_date(expected_close_date, tenant)
        if probability is not None:
            check_probability(probability)
        if opportunity.status == StageKind.WON and (
            amount != opportunity.amount or currency != opportunity.currency or lines is not None
        ):
            raise DomainError(_("A won opportunity keeps the amount of its order."), field="amount")
        before = _snapshot(opportunity)
        if custom is not None:
            opportunity.custom = custom_values_clean(
                tenant_id=tenant.pk, kind="opportunity", values=custom, existing=opportunity.custom
            )
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
        # The customer's row before the opportunity's, the order every sales write takes them in.
        customer_id = (
            Opportunity.objects.visible_to(acting_user)
            .filter(pk=opportunity.pk)
            .values_list("customer_id", flat=True)
            .first()
        )
        if customer_id is not None:
            lock_customer(acting_user, customer_id)
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
            # Its order stands while it counts or waits for approval; a rejected discount frees the opportunity.
            standing = Order.objects.filter(pk=opportunity.order_id).valid().exclude(status=OrderStatus.REJECTED)
            if standing.exists():
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
                Line(name=li.name, quantity=li.quantity, unit_price=li.unit_price, product=li.product)
                for li in OpportunityLine.objects.filter(opportunity=opportunity)
                .select_related("product")
                .order_by("position", "pk")
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
        webhook_emit(
            tenant_id=tenant.pk,
            event="opportunity.stage_changed",
            data={
                "id": opportunity.pk,
                "name": opportunity.name,
                "customer": opportunity.customer_id,
                "from_stage": previous.pk,
                "to_stage": stage.pk,
                "status": stage.kind,
                "amount": opportunity.amount,
                "currency": opportunity.currency,
                "order": order.pk if order else None,
            },
        )
        if stage.kind == StageKind.WON:
            webhook_emit(
                tenant_id=tenant.pk,
                event="opportunity.won",
                data={
                    "id": opportunity.pk,
                    "name": opportunity.name,
                    "customer": opportunity.customer_id,
                    "owner": opportunity.owner_id,
                    "amount": opportunity.amount,
                    "currency": opportunity.currency,
                    "order": order.pk if order else None,
                    "won_at": now,
                },
            )
    return opportunity
