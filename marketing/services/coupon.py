"""Redeeming a care coupon on an order (the order form's coupon field, through crm.registry.OrderExtension): the
coupon takes its discount off the order's amount; voiding the order or rejecting its discount gives it back."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from crm.workcalendar.selectors import local_today
from marketing.models import Coupon
from sales.services.order import order_coupon_apply

FIELD = "coupon_code"


def coupon_fields() -> dict[str, forms.Field]:
    return {
        FIELD: forms.CharField(
            label=gettext_lazy("Coupon code"),
            max_length=20,
            required=False,
            help_text=gettext_lazy("A care coupon of this customer: redeemed with the order, once."),
        )
    }


def normalize_code(code: str) -> str:
    return "".join((code or "").split()).upper()


def coupon_redeem(*, acting_user: User, order, code: str) -> Coupon:
    """Redeem the coupon `code` on `order`, in the caller's transaction: it must belong to the order's customer, be
    unexpired (tenant-local date) and unused, and the order must reach its minimum. The coupon row is locked, so
    of two orders using one code at once exactly one succeeds; the other is refused with nothing saved."""
    code = normalize_code(code)
    with transaction.atomic():
        coupon = (
            Coupon.objects.select_for_update()
            .filter(tenant_id=order.tenant_id, code=code, customer_id=order.customer_id)
            .first()
        )
        if coupon is None:
            raise DomainError(_("There is no coupon %(code)s for this customer.") % {"code": code}, field=FIELD)
        if coupon.redeemed_at is not None:
            raise DomainError(_("This coupon was already used."), field=FIELD)
        if coupon.expires_on < local_today(order.tenant):
            raise DomainError(
                _("This coupon expired on %(date)s.") % {"date": coupon.expires_on.isoformat()}, field=FIELD
            )
        if order.amount < (coupon.min_order or Decimal(0)):
            raise DomainError(
                _("This coupon needs an order of at least %(amount)s.") % {"amount": coupon.min_order}, field=FIELD
            )
        before = order.amount
        order = order_coupon_apply(order=order, code=coupon.code, discount=coupon_discount(coupon, order), field=FIELD)
        coupon.redeemed_at = timezone.now()
        coupon.redeemed_by = acting_user
        coupon.order = order
        coupon.order_amount = before
        coupon.save(update_fields=["redeemed_at", "redeemed_by", "order", "order_amount", "updated_at"])
        audit(
            tenant=order.tenant,
            actor=acting_user,
            action="coupon.redeem",
            obj=coupon,
            details={"order": order.pk, "amount": str(before), "discount": str(order.coupon_discount)},
        )
    return coupon


def coupon_discount(coupon: Coupon, order) -> Decimal:
    """What `coupon` takes off `order`: its amount (in the company's currency, so only on an order in that
    currency), or its percentage of the order's amount (rounded half-up by the order's currency, in sales)."""
    if coupon.kind == Coupon.Kind.PERCENT:
        return order.amount * coupon.value / Decimal(100)
    if order.currency != order.tenant.currency:
        raise DomainError(
            _("This coupon is an amount in %(coupon)s; the order is in %(order)s.")
            % {"coupon": order.tenant.currency, "order": order.currency},
            field=FIELD,
        )
    return coupon.value


def coupon_return(*, acting_user: User | None, order, reason: str) -> Coupon | None:
    """Give back the coupon redeemed on `order` (voided, or its discount rejected), in the caller's transaction:
    it is unused again, so the customer may use it on another order until it expires. The order keeps the record
    of the coupon it had. Nothing to do (None) when the order had no coupon or it was given back before."""
    coupon = Coupon.objects.select_for_update().filter(tenant_id=order.tenant_id, order_id=order.pk).first()
    if coupon is None:
        return None
    coupon.redeemed_at = coupon.redeemed_by = coupon.order = coupon.order_amount = None
    coupon.save(update_fields=["redeemed_at", "redeemed_by", "order", "order_amount", "updated_at"])
    audit(
        tenant=order.tenant,
        actor=acting_user,
        action="coupon.return",
        obj=coupon,
        details={"order": order.pk, "reason": reason},
    )
    return coupon


def apply_to_order(*, acting_user: User, order, data: dict) -> None:
    """The order form's hook: a coupon code given with the order is redeemed on it."""
    if data.get(FIELD):
        coupon_redeem(acting_user=acting_user, order=order, code=data[FIELD])
