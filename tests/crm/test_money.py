"""Amounts with the currency's symbol in the reader's language and thousands separators (crm.money)."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from crm.money import format_money


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("zh-hans", Decimal("156000"), "CNY", "¥156,000.00"),
        ("en", Decimal("156000"), "CNY", "CN¥156,000.00"),
        ("zh-hans", Decimal("1234.5"), "USD", "US$1,234.50"),
        ("en", Decimal("1234.5"), "USD", "$1,234.50"),
        ("en", Decimal("12000"), "JPY", "¥12,000"),
        ("zh-hans", Decimal("-2500.5"), "EUR", "-€2,500.50"),
        ("en", 7, "XYZ", "XYZ 7.00"),
        ("en", None, "CNY", ""),
    ],
)
def test_format_money(language, amount, currency, expected):
    with translation.override(language):
        assert format_money(amount, currency) == expected


def test_the_template_filters():
    template = Template("{% load crm_tags %}{{ a|money:'CNY' }} / {{ a|money_whole:c }}")
    with translation.override("zh-hans"):
        assert template.render(Context({"a": Decimal("156000.4"), "c": "CNY"})) == "¥156,000.40 / ¥156,000"
