"""Amounts as people read them: the currency's symbol in the reader's language, thousands separated, the
currency's usual decimals ("¥156,000.00" in Chinese, "CN¥156,000.00" in English, "JP¥12,000"). Every page, PDF and
message that shows an amount formats it here (the `money` template filter)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import translation

# Each language's symbols (CLDR's): the home currency takes the bare sign, others say whose it is.
SYMBOLS = {
    "zh-hans": {"CNY": "¥", "USD": "US$", "EUR": "€", "HKD": "HK$", "JPY": "JP¥"},
    "en": {"CNY": "CN¥", "USD": "$", "EUR": "€", "HKD": "HK$", "JPY": "¥"},
}
NO_DECIMALS = {"JPY"}


def format_money(amount: Any, currency: str = "CNY", *, decimals: int = 2) -> str:
    """`amount` in `currency` for the active language; "" for no amount, the value as given if it is no number.
    `decimals=0` rounds to whole units (board totals, report figures)."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    language = (translation.get_language() or "en").lower()
    symbols = SYMBOLS.get(language) or SYMBOLS["zh-hans" if language.startswith("zh") else "en"]
    code = (currency or "").upper()
    symbol = symbols.get(code, f"{code} " if code else "")
    places = 0 if code in NO_DECIMALS else decimals
    number = f"{abs(value):,.{places}f}"
    return f"{'-' if value < 0 else ''}{symbol}{number}"
