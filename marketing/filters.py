"""The RFM filters marketing contributes to the customer list's FilterSet (crm.registry.CustomerFilterContribution):
a named cell, and a range of each score ("4-5")."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from marketing.models import RfmCell, RfmScore

SCORE_RANGES = [(f"{low}-{high}" if low != high else str(low)) for low in range(1, 6) for high in range(low, 6)]


def score_range(value: str) -> tuple[int, int]:
    low, _sep, high = value.partition("-")
    return int(low), int(high or low)


def _scored(queryset, **conditions):
    return queryset.filter(
        Exists(RfmScore.objects.filter(tenant_id=OuterRef("tenant_id"), customer=OuterRef("pk"), **conditions))
    )


def filter_cell(queryset, name, value):
    return _scored(queryset, cell=value)


def filter_score(queryset, name, value):
    column = {"rfm_r": "recency", "rfm_f": "frequency", "rfm_m": "monetary"}[name]
    low, high = score_range(value)
    return _scored(queryset, **{f"{column}__range": (low, high)})


def rfm_filters(tenant) -> dict[str, django_filters.Filter]:
    ranges = [(value, value.replace("-", "–")) for value in SCORE_RANGES]
    return {
        "rfm_cell": django_filters.ChoiceFilter(label=_("RFM cell"), choices=RfmCell.choices, method=filter_cell),
        "rfm_r": django_filters.ChoiceFilter(
            field_name="rfm_r", label=_("Recency score (R)"), choices=ranges, method=filter_score
        ),
        "rfm_f": django_filters.ChoiceFilter(
            field_name="rfm_f", label=_("Frequency score (F)"), choices=ranges, method=filter_score
        ),
        "rfm_m": django_filters.ChoiceFilter(
            field_name="rfm_m", label=_("Monetary score (M)"), choices=ranges, method=filter_score
        ),
    }
