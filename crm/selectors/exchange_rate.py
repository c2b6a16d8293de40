"""Amounts in other currencies converted to the tenant's currency, the one home of the rule every figure follows.

A rate (`crm.models.ExchangeRate`) says what one unit of a currency is worth in the tenant's currency over a month.
An amount dated in a month takes that month's rate, else the latest earlier month's; an amount with no such rate
is not converted: the sum says how many were left out, so a page can flag them. Converting to a currency other
than the tenant's goes through the tenant's (amount × rate of its currency ÷ rate of the target), as a campaign's
own currency needs. Callers group their rows in SQL by currency and month and convert the few sums here."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from crm.models import ExchangeRate

CENT = Decimal("0.01")


@dataclass(frozen=True)
class UsedRate:
    currency: str
    month: dt.date
    rate: Decimal


@dataclass
class ConvertedSum:
    """A sum in one currency of amounts that may be in several: what was added, the rates used (each once), and
    how many amounts (and of which currencies) had no rate and were left out."""

    currency: str
    total: Decimal = Decimal("0")
    rates: set[UsedRate] = field(default_factory=set)
    missing: int = 0
    missing_currencies: set[str] = field(default_factory=set)

    def used_rates(self) -> list[UsedRate]:
        return sorted(self.rates, key=lambda r: (r.currency, r.month))

    def merge(self, other: ConvertedSum) -> None:
        self.total += other.total
        self.rates |= other.rates
        self.missing += other.missing
        self.missing_currencies |= other.missing_currencies


class Rates:
    """A tenant's rates, loaded in one query, answering conversions without more."""

    def __init__(self, home: str, rows: list[tuple[str, dt.date, Decimal]]) -> None:
        self.home = home
        self._months: dict[str, list[dt.date]] = {}
        self._rates: dict[str, list[Decimal]] = {}
        for currency, month, rate in sorted(rows):
            self._months.setdefault(currency, []).append(month)
            self._rates.setdefault(currency, []).append(rate)

    def currencies(self) -> list[str]:
        """The currencies with at least one rate (only their amounts need a month to be converted)."""
        return sorted(self._months)

    def rate(self, currency: str, day: dt.date | None) -> UsedRate | None:
        """The rate of `currency` for `day`: its month's, else the latest earlier month's; None when there is none
        (the tenant's own currency is 1)."""
        if currency == self.home:
            return UsedRate(currency, (day or dt.date.min).replace(day=1), Decimal("1"))
        months = self._months.get(currency)
        if not months:
            return None
        if day is None:
            index = len(months) - 1
        else:
            index = bisect.bisect_right(months, day.replace(day=1)) - 1
            if index < 0:
                return None
        return UsedRate(currency, months[index], self._rates[currency][index])

    def convert(self, amount: Decimal, currency: str, day: dt.date | None, to: str | None = None) -> Decimal | None:
        """`amount` of `currency` dated `day` in `to` (the tenant's currency by default), rounded to the cent; None
        without a rate."""
        to = to or self.home
        if currency == to:
            return amount
        source, target = self.rate(currency, day), self.rate(to, day)
        if source is None or target is None:
            return None
        return (amount * source.rate / target.rate).quantize(CENT, ROUND_HALF_UP)

    def add(self, total: ConvertedSum, amount: Decimal, currency: str, day: dt.date | None, count: int = 1) -> None:
        """Add `amount` (the sum of `count` amounts of one currency and month) to `total`, or count it as missing."""
        if not count:
            return
        converted = self.convert(amount, currency, day, total.currency)
        if converted is None:
            total.missing += count
            total.missing_currencies.add(currency)
            return
        total.total += converted
        for code in {currency, total.currency} - {self.home}:
            used = self.rate(code, day)
            if used is not None:
                total.rates.add(used)


def rates_for(tenant) -> Rates:
    """The tenant's rates (one query)."""
    rows = ExchangeRate.objects.filter(tenant_id=tenant.pk).values_list("currency", "month", "rate")
    return Rates(tenant.currency, list(rows))
