"""Amounts read with thousands separators in Simplified Chinese too (Django's own zh_Hans formats leave them out)."""

from decimal import Decimal

from django.template import Context, Template
from django.utils import translation


def render(text: str, **context) -> str:
    return Template("{% load humanize %}" + text).render(Context(context))


def test_amounts_are_grouped_by_thousands_in_both_languages():
    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert render('{{ v|floatformat:"2g" }}', v=Decimal("97280")) == "97,280.00"
            assert render('{{ v|floatformat:"0g" }}', v=Decimal("1234567.4")) == "1,234,567"
            assert render("{{ v|intcomma }}", v=12000) == "12,000"
