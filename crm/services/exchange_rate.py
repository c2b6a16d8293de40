"""The company's exchange rates (Settings → Exchange rates): set one month's rate of a currency, remove it, or set
many at once from pasted lines ("USD, 2026-11, 7.12")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import CURRENCY_CHOICES, ExchangeRate, User
from crm.services.audit import audit

MAX_RATE = Decimal("999999999999")
MAX_LINES = 500


def _check(tenant, currency: str, month: dt.date | None, rate: Decimal | None, *, line: int | None = None) -> None:
    where = (_("Line %(n)d: ") % {"n": line}) if line else ""
    if currency not in dict(CURRENCY_CHOICES):
        raise DomainError(where + _("Choose a currency."), field="currency")
    if currency == tenant.currency:
        raise DomainError(
            where + _("%(code)s is your company's own currency: it needs no rate.") % {"code": currency},
            field="currency",
        )
    if month is None:
        raise DomainError(where + _("Enter the month, such as 2026-11."), field="month")
    if rate is None or not (Decimal("0") < rate < MAX_RATE) or rate.as_tuple().exponent < -6:
        raise DomainError(
            where + _("Enter a rate above zero with at most six decimals (one unit in your currency)."), field="rate"
        )


def _write(acting_user: User, currency: str, month: dt.date, rate: Decimal) -> ExchangeRate:
    tenant = acting_user.tenant
    row, _created = ExchangeRate.objects.update_or_create(
        tenant=tenant, currency=currency, month=month.replace(day=1), defaults={"rate": rate}
    )
    audit(tenant=tenant, actor=acting_user, action="exchange_rate.save", obj=row, details={"rate": str(rate)})
    return row


def exchange_rate_save(
    *, acting_user: User, currency: str, month: dt.date | None, rate: Decimal | None
) -> ExchangeRate:
    """Set the rate of `currency` for `month` (replacing the month's earlier rate)."""
    require_admin(acting_user)
    _check(acting_user.tenant, currency, month, rate)
    with transaction.atomic():
        return _write(acting_user, currency, month, rate)


def exchange_rate_delete(*, acting_user: User, rate: ExchangeRate) -> None:
    require_admin(acting_user)
    with transaction.atomic():
        audit(tenant=acting_user.tenant, actor=acting_user, action="exchange_rate.delete", obj=rate)
        ExchangeRate.objects.filter(tenant=acting_user.tenant, pk=rate.pk).delete()


def _parse_line(text: str) -> tuple[str, dt.date | None, Decimal | None]:
    parts = [p.strip() for p in text.replace("\t", ",").replace("，", ",").split(",")]
    parts += [""] * (3 - len(parts))
    currency = parts[0].upper()
    try:
        month = dt.datetime.strptime(parts[1][:7], "%Y-%m").date()
    except ValueError:
        month = None
    try:
        rate = Decimal(parts[2])
    except (InvalidOperation, ValueError):
        rate = None
    return currency, month, rate


def exchange_rates_import(*, acting_user: User, text: str) -> int:
    """Set every rate of the pasted lines (currency, month, rate; a comma or a tab between them): all or nothing,
    the first bad line named in the error. The number of rates set."""
    require_admin(acting_user)
    lines = [(n, line) for n, line in enumerate((text or "").splitlines(), start=1) if line.strip()]
    if not lines:
        raise DomainError(_("Paste at least one line: currency, month, rate."), field="text")
    if len(lines) > MAX_LINES:
        raise DomainError(_("At most %(max)d lines at a time.") % {"max": MAX_LINES}, field="text")
    parsed = []
    for n, line in lines:
        currency, month, rate = _parse_line(line)
        try:
            _check(acting_user.tenant, currency, month, rate, line=n)
        except DomainError as error:
            raise DomainError(str(error), field="text") from error
        parsed.append((currency, month, rate))
    with transaction.atomic():
        for currency, month, rate in parsed:
            _write(acting_user, currency, month, rate)
    return len(parsed)
