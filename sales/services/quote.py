"""Quotes (报价单): written from an opportunity, approved when their discount or total is above the tenant's
thresholds (through crm.approvals, policy "sales.quote"), sent, accepted or declined, revised as a new version.

Every change locks the quote row, checks its status under the lock, and writes an audit event in the same
transaction. Who may change a quote: whoever may work on its opportunity (its owner, the owner's managers,
administrators)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_submit
from crm.errors import DomainError
from crm.models import Role, Tenant, User
from crm.registry import ApprovalPolicy, ApprovalStepRule
from crm.services.audit import audit
from crm.workcalendar.selectors import local_today
from customers.models import Customer
from sales.access import can_change_opportunity
from sales.models import Opportunity, Product, Quote, QuoteLine, QuoteSettings, QuoteStatus, order_currencies
from sales.selectors.product import default_unit_price, level_prices
from sales.services.sequence import sequence_next

QUOTE_KIND = "sales.quote"
MAX_LINES = 100


@dataclass(frozen=True)
class QuoteLineInput:
    """A line as entered: a catalogue product (its name, unit, price and tax rate are the defaults) or free text."""

    quantity: Decimal
    product: Product | None = None
    name: str = ""
    unit: str = ""
    unit_price: Decimal | None = None
    discount_pct: Decimal = Decimal("0")
    tax_rate: Decimal | None = None


def quote_settings(tenant_id: int) -> QuoteSettings:
    settings, _created = QuoteSettings.objects.get_or_create(tenant_id=tenant_id)
    return settings


def quote_settings_save(*, acting_user: User, data: dict) -> QuoteSettings:
    """An administrator sets the approval thresholds, the validity and the default terms of new quotes."""
    if not acting_user.has_any_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators change the quote settings."))
    first, second = data.get("discount_limit"), data.get("second_discount_limit")
    if first is not None and second is not None and second < first:
        raise DomainError(
            _("The administrator's discount threshold cannot be below the manager's."), field="second_discount_limit"
        )
    with transaction.atomic():
        settings = QuoteSettings.objects.select_for_update().get(pk=quote_settings(acting_user.tenant_id).pk)
        for key, value in data.items():
            setattr(settings, key, value)
        settings.save()
        audit(tenant=acting_user.tenant, actor=acting_user, action="quote.settings", obj=settings)
    return settings


def _require_change(acting_user: User, opportunity: Opportunity) -> None:
    if opportunity.tenant_id != acting_user.tenant_id or not can_change_opportunity(acting_user, opportunity):
        raise PermissionDenied(_("Only those who work on the opportunity change its quotes."))


def _lines(
    acting_user: User, currency: str, lines: Sequence[QuoteLineInput], customer: Customer | None
) -> list[QuoteLine]:
    """Check the lines and fill their defaults from the catalogue (the price from the price book of the customer's
    level, else the list price); DomainError on the field "lines"."""
    if not lines:
        raise DomainError(_("A quote needs at least one line."), field="lines")
    if len(lines) > MAX_LINES:
        raise DomainError(_("A quote has at most %(max)d lines.") % {"max": MAX_LINES}, field="lines")
    prices = level_prices(
        customer,
        [li.product.pk for li in lines if li.product is not None and li.product.tenant_id == acting_user.tenant_id],
    )
    built = []
    for position, line in enumerate(lines, start=1):
        product = line.product
        if product is not None:
            if product.tenant_id != acting_user.tenant_id:
                raise DomainError(_("Choose a product of your catalogue."), field="lines")
            if product.currency != currency and line.unit_price is None:
                raise DomainError(
                    _("Line %(n)d: %(product)s is priced in %(currency)s; enter its price in this quote's currency.")
                    % {"n": position, "product": product.name, "currency": product.currency},
                    field="lines",
                )
        name = (line.name or "").strip() or (product.name if product else "")
        if not name:
            raise DomainError(_("Line %(n)d: choose a product or describe the item.") % {"n": position}, field="lines")
        price = (
            line.unit_price if line.unit_price is not None else default_unit_price(product, prices) if product else None
        )
        if price is None or price < 0:
            raise DomainError(_("Line %(n)d: enter a unit price of zero or more.") % {"n": position}, field="lines")
        if line.quantity is None or line.quantity <= 0:
            raise DomainError(_("Line %(n)d: the quantity must be greater than zero.") % {"n": position}, field="lines")
        discount = line.discount_pct or Decimal("0")
        if not Decimal(0) <= discount <= Decimal(100):
            raise DomainError(
                _("Line %(n)d: the discount is a percentage between 0 and 100.") % {"n": position}, field="lines"
            )
        tax = line.tax_rate if line.tax_rate is not None else product.tax_rate if product else Decimal("0")
        if not Decimal(0) <= tax <= Decimal(100):
            raise DomainError(
                _("Line %(n)d: the tax rate is a percentage between 0 and 100.") % {"n": position}, field="lines"
            )
        built.append(
            QuoteLine(
                tenant_id=acting_user.tenant_id,
                position=position,
                product=product,
                name=name[:200],
                unit=((line.unit or "").strip() or (product.unit if product else ""))[:20],
                quantity=line.quantity,
                unit_price=price,
                discount_pct=discount,
                tax_rate=tax,
                created_by=acting_user,
            )
        )
    return built


def _write_lines(quote: Quote, lines: list[QuoteLine]) -> None:
    """Replace the quote's lines and store the figures of Quote.compute_totals on the lines and the quote."""
    totals = Quote.compute_totals(lines, quote.currency)
    for line, figures in zip(lines, totals.lines, strict=True):
        line.quote = quote
        line.net_amount, line.tax_amount = figures.net, figures.tax
    QuoteLine.objects.filter(quote=quote).delete()
    QuoteLine.objects.bulk_create(lines)
    quote.gross_amount, quote.discount_amount, quote.net_amount = totals.gross, totals.discount, totals.net
    quote.tax_amount, quote.total = totals.tax, totals.total
    quote.discount_pct, quote.max_line_discount_pct = totals.discount_pct, totals.max_line_discount_pct


def _check_header(acting_user: User, currency: str, valid_until: dt.date | None) -> None:
    if currency not in order_currencies(acting_user.tenant):
        raise DomainError(_("Choose a currency your company uses."), field="currency")
    if valid_until is not None and valid_until < local_today(acting_user.tenant):
        raise DomainError(_("The validity date cannot be in the past."), field="valid_until")


def quote_create(
    *,
    acting_user: User,
    opportunity: Opportunity,
    lines: Sequence[QuoteLineInput],
    currency: str | None = None,
    valid_until: dt.date | None = None,
    terms: str | None = None,
) -> Quote:
    """A draft quote for `opportunity`, numbered Q-<year>-<nnnn> in the tenant's sequence of the year."""
    _require_change(acting_user, opportunity)
    tenant = acting_user.tenant
    settings = quote_settings(tenant.pk)
    currency = currency or opportunity.currency
    _check_header(acting_user, currency, valid_until)
    today = local_today(tenant)
    built = _lines(acting_user, currency, lines, opportunity.customer)
    with transaction.atomic():
        number = sequence_next(tenant_id=tenant.pk, kind="quote", year=today.year)
        quote = Quote(
            tenant=tenant,
            number=f"Q-{today.year}-{number:04d}",
            opportunity=opportunity,
            customer_id=opportunity.customer_id,
            owner_id=opportunity.owner_id,
            currency=currency,
            valid_until=valid_until or today + dt.timedelta(days=settings.valid_days),
            terms=settings.default_terms if terms is None else terms.strip(),
            created_by=acting_user,
        )
        quote.save()
        _write_lines(quote, built)
        quote.save()
        audit(tenant=tenant, actor=acting_user, action="quote.create", obj=quote, details={"total": str(quote.total)})
    return quote


def _locked(acting_user: User, quote: Quote) -> Quote:
    locked = Quote.objects.select_for_update(of=("self",)).select_related("opportunity").get(pk=quote.pk)
    _require_change(acting_user, locked.opportunity)
    return locked


def quote_update(
    *,
    acting_user: User,
    quote: Quote,
    lines: Sequence[QuoteLineInput],
    currency: str,
    valid_until: dt.date,
    terms: str,
) -> Quote:
    """Change a draft quote's lines and terms; a quote asked for approval or sent is revised instead."""
    _check_header(acting_user, currency, valid_until)
    built = _lines(acting_user, currency, lines, quote.customer)
    with transaction.atomic():
        quote = _locked(acting_user, quote)
        if not quote.is_editable:
            raise DomainError(_("Only a draft quote can be changed; revise it to make a new version."))
        quote.currency, quote.valid_until, quote.terms = currency, valid_until, (terms or "").strip()
        _write_lines(quote, built)
        quote.save()
        audit(tenant=acting_user.tenant, actor=acting_user, action="quote.update", obj=quote)
    return quote


def approval_steps(tenant, quote: Quote) -> list[ApprovalStepRule]:
    """The approvals a quote needs under its tenant's thresholds: the rep's manager above the first discount (or
    total), an administrator too above the second. None: it may be sent as it is."""
    settings = quote_settings(tenant.pk)

    def above(discount_limit, amount_limit) -> bool:
        return quote.discount_pct > discount_limit or (amount_limit is not None and quote.total > amount_limit)

    steps = []
    second = above(settings.second_discount_limit, settings.second_amount_limit)
    if second or above(settings.discount_limit, settings.amount_limit):
        steps.append(ApprovalStepRule(approver=Role.MANAGER, label=gettext_lazy("The rep's manager")))
    if second:
        steps.append(ApprovalStepRule(approver=Role.ADMIN, label=gettext_lazy("An administrator")))
    return steps


def quote_needs_approval(quote: Quote) -> bool:
    return bool(approval_steps(quote.tenant, quote))


def quote_submit(*, acting_user: User, quote: Quote) -> Quote:
    """Ask for the approvals a draft quote needs (its discount or total is above the thresholds)."""
    with transaction.atomic():
        quote = _locked(acting_user, quote)
        if quote.status != QuoteStatus.DRAFT:
            raise DomainError(_("Only a draft quote is asked for approval."))
        if not quote_needs_approval(quote):
            raise DomainError(_("This quote needs no approval; send it."))
        quote.status = QuoteStatus.PENDING
        quote.save(update_fields=["status", "updated_at"])
        summary = _("Total %(total)s %(currency)s, discount %(discount)s%%, customer %(customer)s.") % {
            "total": f"{quote.total:,.2f}",
            "currency": quote.currency,
            "discount": quote.discount_pct,
            "customer": quote.customer.name,
        }
        approval_submit(
            acting_user=acting_user,
            kind=QUOTE_KIND,
            obj=quote,
            title=f"{quote.label} · {quote.customer.name}",
            summary=summary,
            amount=quote.total,
            currency=quote.currency,
        )
        audit(tenant=acting_user.tenant, actor=acting_user, action="quote.submit", obj=quote)
    return quote


def quote_decided(approval: ApprovalRequest, quote: Quote) -> None:
    """The approvals engine's outcome, inside its transaction: approved → may be sent; rejected → kept rejected
    (revise it for a new version); withdrawn → back to draft."""
    quote = Quote.objects.select_for_update(of=("self",)).get(pk=quote.pk)
    if quote.status != QuoteStatus.PENDING:
        raise DomainError(_("This quote no longer waits for approval."))
    quote.status = {
        ApprovalRequest.Status.APPROVED: QuoteStatus.APPROVED,
        ApprovalRequest.Status.REJECTED: QuoteStatus.REJECTED,
    }.get(approval.status, QuoteStatus.DRAFT)
    quote.save(update_fields=["status", "updated_at"])
    audit(
        tenant=quote.tenant,
        actor=approval.decided_by,
        action=f"quote.{approval.status}",
        obj=quote,
        details={"approval": approval.pk},
    )


def quote_policy() -> ApprovalPolicy:
    """What sales registers with the approvals engine (from SalesConfig.ready)."""
    return ApprovalPolicy(
        key=QUOTE_KIND,
        label=gettext_lazy("Quote"),
        model="sales.quote",
        steps=approval_steps,
        on_decided=quote_decided,
        url=lambda quote: reverse("sales:quote_detail", args=[quote.pk]),
    )


def quote_send(*, acting_user: User, quote: Quote) -> Quote:
    """Mark the quote sent to the customer: a draft that needs no approval, or an approved one."""
    with transaction.atomic():
        quote = _locked(acting_user, quote)
        if quote.status == QuoteStatus.DRAFT and quote_needs_approval(quote):
            raise DomainError(_("This quote's discount or total needs approval before it is sent."))
        if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.APPROVED):
            raise DomainError(_("Only a draft or approved quote is sent."))
        if quote.valid_until < local_today(acting_user.tenant):
            raise DomainError(_("This quote's validity date has passed; revise it."))
        quote.status, quote.sent_at = QuoteStatus.SENT, timezone.now()
        quote.save(update_fields=["status", "sent_at", "updated_at"])
        audit(tenant=acting_user.tenant, actor=acting_user, action="quote.send", obj=quote)
    return quote


def quote_close(*, acting_user: User, quote: Quote, accepted: bool) -> Quote:
    """The customer accepted or declined a sent quote (an accepted one must still be valid)."""
    with transaction.atomic():
        quote = _locked(acting_user, quote)
        if quote.status != QuoteStatus.SENT:
            raise DomainError(_("Only a sent quote is accepted or declined."))
        if accepted and quote.valid_until < local_today(acting_user.tenant):
            raise DomainError(_("This quote's validity date has passed; revise it."))
        quote.status = QuoteStatus.ACCEPTED if accepted else QuoteStatus.DECLINED
        quote.closed_at = timezone.now()
        quote.save(update_fields=["status", "closed_at", "updated_at"])
        audit(tenant=acting_user.tenant, actor=acting_user, action=f"quote.{quote.status}", obj=quote)
    return quote


REVISABLE = (
    QuoteStatus.DRAFT,
    QuoteStatus.APPROVED,
    QuoteStatus.REJECTED,
    QuoteStatus.SENT,
    QuoteStatus.DECLINED,
    QuoteStatus.EXPIRED,
)


def quote_revise(*, acting_user: User, quote: Quote) -> Quote:
    """A new draft version of the quote (same number, version + 1, the lines copied); the old one is kept as it
    was, marked replaced. A quote waiting for approval, accepted or already revised is not revised."""
    with transaction.atomic():
        old = _locked(acting_user, quote)
        if old.status not in REVISABLE:
            raise DomainError(_("This quote cannot be revised now."))
        settings = quote_settings(old.tenant_id)
        today = local_today(acting_user.tenant)
        new = Quote.objects.create(
            tenant_id=old.tenant_id,
            number=old.number,
            version=old.version + 1,
            opportunity_id=old.opportunity_id,
            customer_id=old.customer_id,
            owner_id=old.owner_id,
            currency=old.currency,
            valid_until=max(old.valid_until, today + dt.timedelta(days=settings.valid_days)),
            terms=old.terms,
            previous=old,
            created_by=acting_user,
        )
        lines = list(QuoteLine.objects.filter(quote=old).order_by("position", "pk"))
        for line in lines:
            line.pk, line.quote, line.created_by = None, new, acting_user
        _write_lines(new, lines)
        new.save()
        old.status = QuoteStatus.REVISED
        old.save(update_fields=["status", "updated_at"])
        audit(tenant=acting_user.tenant, actor=acting_user, action="quote.revise", obj=new, details={"from": old.pk})
    return new


def quotes_expire(*, tenant_id: int) -> int:
    """Sent quotes past their validity date (the tenant's local date) become expired: one conditional UPDATE,
    so a rerun changes nothing; each change is audited."""
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return 0
    with transaction.atomic():
        expired = list(
            Quote.objects.filter(tenant=tenant, status=QuoteStatus.SENT, valid_until__lt=local_today(tenant))
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        Quote.objects.filter(pk__in=expired, status=QuoteStatus.SENT).update(
            status=QuoteStatus.EXPIRED, updated_at=timezone.now()
        )
        for quote in Quote.objects.filter(pk__in=expired):
            audit(tenant=tenant, actor=None, action="quote.expired", obj=quote)
    return len(expired)
