"""Orders (purchase history): recorded by hand or by a won opportunity, voided with a reason; each moves the
customer's last deal (customers.services.customer.record_deal).

An order whose discount (1 − charged / list total of its product lines at the customer's level price) is above the
tenant's quote discount thresholds is saved "awaiting approval" and asked for approval through crm.approvals
(policy "sales.order_discount"): it counts as a deal only once approved, in the deciding transaction; rejected, it
never counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import require_tenant_user
from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_submit, approval_supersede
from crm.errors import DomainError
from crm.models import Role, Tenant, User
from crm.registry import ApprovalPolicy, ApprovalStepRule, registry
from crm.services.audit import audit
from crm.workcalendar.selectors import local_datetime, local_today
from customers.access import lock_customer, lock_customer_for_change
from customers.models import Customer
from customers.services.customer import record_deal
from sales.access import check_customer
from sales.models import (
    Order,
    OrderLine,
    OrderStatus,
    Product,
    order_currencies,
)
from sales.money import round_money
from sales.selectors.product import default_unit_price, level_prices
from sales.services.activity import required_text
from sales.services.quote import quote_settings

ORDER_DISCOUNT_KIND = "sales.order_discount"


@dataclass(frozen=True)
class Line:
    name: str
    quantity: Decimal
    # None with a product: the customer's level price or the list price (lines_priced).
    unit_price: Decimal | None
    # The catalogue product the line sells (None: a free-text line).
    product: Product | None = None

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price


def check_line_products(tenant_id: int, lines: Sequence[Line]) -> None:
    """Every product a line picks is of the tenant's catalogue."""
    if any(line.product is not None and line.product.tenant_id != tenant_id for line in lines):
        raise DomainError(_("Choose a product of your catalogue."), field="lines")


def lines_priced(customer: Customer, lines: Sequence[Line]) -> list[Line]:
    """The lines with the price left empty on a catalogue product filled in: the price book of the customer's
    level, else the product's list price. One query."""
    missing = [line.product.pk for line in lines if line.unit_price is None and line.product is not None]
    prices = level_prices(customer, missing)
    return [
        replace(line, unit_price=default_unit_price(line.product, prices))
        if line.unit_price is None and line.product is not None
        else line
        for line in lines
    ]


def lines_amount(amount: Decimal | None, lines: Sequence[Line]) -> Decimal | None:
    """Check product lines and reconcile them with an amount: with lines and no amount, their total; with both,
    they must agree. Shared by orders and opportunities."""
    for line in lines:
        if not (line.name or "").strip():
            raise DomainError(_("Every product line needs a product name."), field="lines")
        if line.quantity is None or line.quantity <= 0:
            raise DomainError(_("A product line's quantity must be greater than zero."), field="lines")
        if line.unit_price is None or line.unit_price < 0:
            raise DomainError(_("A product line's unit price cannot be negative."), field="lines")
    if lines:
        total = sum((line.total for line in lines), Decimal("0")).quantize(Decimal("0.01"))
        if amount is None:
            amount = total
        elif amount != total:
            raise DomainError(
                _("The amount %(amount)s differs from the total of the product lines, %(total)s.")
                % {"amount": f"{amount:.2f}", "total": f"{total:.2f}"},
                field="amount",
            )
    return amount


def lines_discount_pct(customer: Customer, lines: Sequence[Line]) -> Decimal | None:
    """The discount of priced lines, in percent: 1 − charged / list total of the product lines, each listed at the
    customer's level price (else the product's list price). None without product lines or with a zero list total.
    One query. A price above the list gives a negative discount."""
    product_lines = [line for line in lines if line.product is not None]
    prices = level_prices(customer, [line.product.pk for line in product_lines])
    listed = sum((line.quantity * default_unit_price(line.product, prices) for line in product_lines), Decimal(0))
    if listed <= 0:
        return None
    charged = sum((line.quantity * line.unit_price for line in product_lines), Decimal(0))
    pct = ((Decimal(1) - charged / listed) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return max(pct, Decimal("-9999.99"))


def order_approval_steps(tenant, order: Order) -> list[ApprovalStepRule]:
    """The approvals an order's discount needs under the tenant's quote thresholds: the rep's manager above the
    first discount limit, an administrator too above the second. None: the order counts at once."""
    if order.discount_pct is None:
        return []
    settings = quote_settings(tenant.pk)
    steps = []
    second = order.discount_pct > settings.second_discount_limit
    if second or order.discount_pct > settings.discount_limit:
        steps.append(ApprovalStepRule(approver=Role.MANAGER, label=gettext_lazy("The rep's manager")))
    if second:
        steps.append(ApprovalStepRule(approver=Role.ADMIN, label=gettext_lazy("An administrator")))
    return steps


def _count_deal(order: Order) -> None:
    """What a confirmed order does to its customer: the last deal moves forward."""
    record_deal(customer_id=order.customer_id, at=_deal_time(order.ordered_on, order.tenant), tenant_id=order.tenant_id)


def order_decided(approval: ApprovalRequest, order: Order) -> None:
    """The approvals engine's outcome, inside its transaction: approved → confirmed and counted as a deal (once:
    only an order still awaiting approval changes); rejected or withdrawn → rejected, never counted."""
    order = Order.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=order.pk)
    if order.status != OrderStatus.AWAITING:
        raise DomainError(_("This order no longer waits for approval."))
    approved = approval.status == ApprovalRequest.Status.APPROVED
    if approved and order.is_void:
        raise DomainError(_("This order is void; it cannot be approved."))
    order.status = OrderStatus.CONFIRMED if approved else OrderStatus.REJECTED
    order.save(update_fields=["status", "updated_at"])
    if approved:
        _count_deal(order)
    else:
        _release_extensions(approval.decided_by, order, "rejected")
    audit(
        tenant=order.tenant,
        actor=approval.decided_by,
        action="order.approved" if approved else "order.rejected",
        obj=order,
        details={"approval": approval.pk, "discount": str(order.discount_pct)},
    )


def order_policy() -> ApprovalPolicy:
    """What sales registers with the approvals engine for discounted orders (from SalesConfig.ready)."""
    return ApprovalPolicy(
        key=ORDER_DISCOUNT_KIND,
        label=gettext_lazy("Order discount"),
        model="sales.order",
        steps=order_approval_steps,
        on_decided=order_decided,
        url=lambda order: reverse("sales:order_detail", args=[order.pk]),
    )


def order_approval(order: Order) -> ApprovalRequest | None:
    """The latest approval request of the order's discount with its steps, if any (two queries)."""
    return (
        ApprovalRequest.objects.filter(tenant_id=order.tenant_id, kind=ORDER_DISCOUNT_KIND, object_id=order.pk)
        .select_related("decided_by")
        .prefetch_related("steps")
        .order_by("-created_at", "-pk")
        .first()
    )


def _deal_time(ordered_on: date, tenant: Tenant) -> datetime:
    """When the deal counts as made: noon of the order date in the tenant's time zone, never later than now."""
    noon = local_datetime(tenant, ordered_on, time(12, 0))
    return min(noon, timezone.now())


def order_create(
    *,
    acting_user: User,
    customer: Customer,
    ordered_on: date,
    currency: str,
    amount: Decimal | None = None,
    lines: Sequence[Line] = (),
    items_text: str = "",
    reference: str = "",
    notes: str = "",
    extension_data: dict | None = None,
) -> Order:
    """Record an order and move the customer's last deal forward (customers.services.customer.record_deal).
    `extension_data` holds the values of the fields other apps add to the order form (crm.registry.OrderExtension):
    each extension applies them in the order's transaction, and a refusal leaves no order."""
    require_tenant_user(acting_user)
    check_customer(acting_user, customer, for_change=True)
    with transaction.atomic():
        # Checked again under the customer's lock: a transfer that won the row first leaves nothing to record.
        customer = lock_customer_for_change(acting_user, customer.pk)
        return order_record(
            acting_user=acting_user,
            customer=customer,
            ordered_on=ordered_on,
            currency=currency,
            amount=amount,
            lines=lines,
            items_text=items_text,
            reference=reference,
            notes=notes,
            extension_data=extension_data,
        )


def order_record(
    *,
    acting_user: User,
    customer: Customer,
    ordered_on: date,
    currency: str,
    amount: Decimal | None = None,
    lines: Sequence[Line] = (),
    items_text: str = "",
    reference: str = "",
    notes: str = "",
    extension_data: dict | None = None,
) -> Order:
    """The order's rules and writes, for callers that checked the permission their own way (order_create: the
    customer may be changed by the user; winning an opportunity: the opportunity may be moved by the user).

    A discount above the tenant's threshold saves the order awaiting approval and asks for it (refused with
    nothing saved when no one could approve); the customer's last deal then moves only once it is approved."""
    tenant = acting_user.tenant
    if customer.tenant_id != tenant.pk:
        raise DomainError(_("Choose a customer you can see."), field="customer")
    if ordered_on is None:
        raise DomainError(_("Enter the order date."), field="ordered_on")
    if ordered_on > local_today(tenant):
        raise DomainError(_("An order date cannot be in the future."), field="ordered_on")
    allowed = order_currencies(tenant)
    if currency not in allowed:
        raise DomainError(
            _("%(code)s is not a currency your company uses; choose one of %(allowed)s.")
            % {"code": currency or "—", "allowed": ", ".join(allowed)},
            field="currency",
        )
    check_line_products(tenant.pk, lines)
    lines = lines_priced(customer, lines)
    amount = lines_amount(amount, lines)
    discount_pct = lines_discount_pct(customer, lines)
    if amount is None or amount <= 0:
        raise DomainError(_("The amount must be greater than zero."), field="amount")
    reference = (reference or "").strip()
    if reference and Order.objects.for_tenant(tenant).filter(reference=reference).exists():
        raise DomainError(_("An order with this number already exists."), field="reference")
    try:
        with transaction.atomic():
            lock_customer(acting_user, customer.pk)
            order = Order.objects.create(
                tenant=tenant,
                customer=customer,
                ordered_on=ordered_on,
                amount=amount,
                currency=currency,
                reference=reference,
                items_text=(items_text or "").strip(),
                notes=notes or "",
                discount_pct=discount_pct,
                created_by=acting_user,
            )
            steps = order_approval_steps(tenant, order)
            if steps:
                order.status = OrderStatus.AWAITING
                order.save(update_fields=["status"])
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        tenant=tenant,
                        order=order,
                        position=i,
                        name=line.name.strip()[:200],
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        product=line.product,
                    )
                    for i, line in enumerate(lines)
                ]
            )
            audit(
                tenant=tenant,
                actor=acting_user,
                action="order.create",
                obj=order,
                details={
                    "customer": customer.pk,
                    "amount": str(amount),
                    "currency": currency,
                    "lines": len(lines),
                    "discount": str(discount_pct) if discount_pct is not None else None,
                    "status": order.status,
                },
            )
            if steps:
                approval_submit(
                    acting_user=acting_user,
                    kind=ORDER_DISCOUNT_KIND,
                    obj=order,
                    title=f"{order} · {customer.name}",
                    summary=_("Amount %(amount)s %(currency)s, discount %(discount)s%%, customer %(customer)s.")
                    % {
                        "amount": f"{amount:,.2f}",
                        "currency": currency,
                        "discount": discount_pct,
                        "customer": customer.name,
                    },
                    amount=amount,
                    currency=currency,
                )
            else:
                _count_deal(order)
            if extension_data:
                for extension in registry.order_extensions():
                    extension.apply(acting_user=acting_user, order=order, data=extension_data)
    except IntegrityError as exc:
        # Two people entering the same order number at once: the unique constraint decides.
        raise DomainError(_("An order with this number already exists."), field="reference") from exc
    return order


def order_void(*, acting_user: User, order: Order, reason: str) -> Order:
    """Void a mistaken order (it stays, marked void, with who and why). The customer's last deal is not moved back:
    record_deal only ever moves it forward."""
    require_tenant_user(acting_user)
    check_customer(acting_user, order.customer, for_change=True)
    reason = required_text(reason, "reason", _("Say why the order is void."))
    with transaction.atomic():
        changed = Order.objects.filter(pk=order.pk, voided_at__isnull=True).update(
            voided_at=timezone.now(), voided_by=acting_user, void_reason=reason[:300], updated_at=timezone.now()
        )
        order.refresh_from_db()
        if not changed:
            raise DomainError(_("This order is already void."))
        if order.status == OrderStatus.AWAITING:
            # Nothing is left to approve: the pending request closes, and the order stays uncounted (rejected).
            pending = ApprovalRequest.objects.filter(
                tenant_id=order.tenant_id, kind=ORDER_DISCOUNT_KIND, object_id=order.pk, status="pending"
            ).first()
            if pending is not None:
                approval_supersede(acting_user=acting_user, request_id=pending.pk)
            order.refresh_from_db()
        audit(tenant=acting_user.tenant, actor=acting_user, action="order.void", obj=order, details={"reason": reason})
        # Given back once: an extension finds nothing more to give back of an order rejected before.
        _release_extensions(acting_user, order, "void")
    return order


def _release_extensions(acting_user: User | None, order: Order, reason: str) -> None:
    """What the order form's extensions took with the order (a coupon) is given back, in the caller's transaction:
    the order was voided or its discount rejected."""
    for extension in registry.order_extensions():
        if extension.release is not None:
            extension.release(acting_user=acting_user, order=order, reason=reason)


def order_coupon_apply(*, order: Order, code: str, discount: Decimal, field: str) -> Order:
    """Take a coupon's `discount` off the order (called by the app that redeems coupons, inside the order's
    transaction): the order's amount becomes what the customer pays, and the order keeps the coupon's code and
    discount. Refused when the discount is not below the order's amount (an order is never free) or the order has
    a coupon already."""
    Order.objects.select_for_update().filter(pk=order.pk, tenant_id=order.tenant_id).values_list("pk").get()
    order.refresh_from_db(fields=["amount", "currency", "coupon_code", "coupon_discount"])
    if order.coupon_code:
        raise DomainError(_("This order has a coupon already."), field=field)
    discount = round_money(discount, order.currency)
    if discount <= 0:
        raise DomainError(_("This coupon takes nothing off this order."), field=field)
    if discount >= order.amount:
        raise DomainError(
            _("This coupon is worth %(discount)s, as much as the order or more.") % {"discount": f"{discount:,.2f}"},
            field=field,
        )
    order.amount -= discount
    order.coupon_code, order.coupon_discount = code, discount
    order.save(update_fields=["amount", "coupon_code", "coupon_discount", "updated_at"])
    return order
