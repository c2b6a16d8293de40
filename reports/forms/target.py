"""The targets grid: which year and which figure it edits, and the posted cells, each checked on its own so every bad
cell gets its own message and nothing is saved while any is wrong."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.forms import QueryForm

CELL = re.compile(r"^cell-(user|team)-(\d+)-(\d{4})-(\d{2})$")
MAX_AMOUNT = Decimal("999999999999.99")


class TargetGridQuery(QueryForm):
    year = forms.IntegerField(min_value=2000, max_value=2100, required=False)
    field = forms.ChoiceField(
        choices=[("amount", gettext_lazy("Amount")), ("new_customers", gettext_lazy("New customers"))], required=False
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.defaults = {"year": today.year, "field": "amount"}


def cell_name(kind: str, pk: int, month: dt.date) -> str:
    return f"cell-{kind}-{pk}-{month:%Y-%m}"


def parse_amount(text: str) -> tuple[Decimal | None, str]:
    """(amount, "") or (None, error) from what a person typed; empty is (None, "")."""
    text = text.strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    if not text:
        return None, ""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, _("Enter an amount, e.g. 50000.")
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        return None, _("Enter an amount between 0 and 999,999,999,999.")
    return value.quantize(Decimal("0.01")), ""


def parse_count(text: str) -> tuple[int | None, str]:
    text = text.strip()
    if not text:
        return None, ""
    if not text.isdigit() or int(text) > 1_000_000:
        return None, _("Enter a whole number of customers.")
    return int(text), ""


def parse_cells(post, *, field: str, year: int) -> tuple[dict, dict]:
    """({(kind, id, month): value or None}, {cell name: error}) from the posted grid. Only cells of `year` count."""
    values, errors = {}, {}
    for name, raw in post.items():
        match = CELL.match(name)
        if not match:
            continue
        kind, pk, y, m = match.group(1), int(match.group(2)), int(match.group(3)), int(match.group(4))
        if y != year or not 1 <= m <= 12:
            continue
        value, error = parse_amount(raw) if field == "amount" else parse_count(raw)
        if error:
            errors[name] = error
            continue
        values[(kind, pk, dt.date(y, m, 1))] = value
    return values, errors
