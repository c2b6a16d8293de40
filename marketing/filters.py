"""The RFM filters marketing contributes to the customer list's FilterSet (crm.registry.CustomerFilterContribution):
a named cell, and a range of each score ("4-5").

However many of them a query sets, they narrow the customers by ONE EXISTS on the scores carrying every condition
(the first RFM filter the FilterSet applies reads its siblings' values from the form; the others then pass the
queryset through): one probe of the one score row per customer, on the (tenant, customer) unique index or a scan
of the (tenant, recency, frequency, monetary) index, instead of a semi-join per condition, which at a million
customers the planner could not estimate and ran for minutes."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES

from marketing.models import RfmCell, RfmScore

SCORE_RANGES = [(f"{low}-{high}" if low != high else str(low)) for low in range(1, 6) for high in range(low, 6)]

# The query parameters of the RFM filters, in the order their conditions are gathered, and each score's column.
RFM_PARAMETERS = ("rfm_cell", "rfm_r", "rfm_f", "rfm_m")
SCORE_COLUMNS = {"rfm_r": "recency", "rfm_f": "frequency", "rfm_m": "monetary"}


def score_range(value: str) -> tuple[int, int]:
    low, _sep, high = value.partition("-")
    return int(low), int(high or low)


def score_conditions(values: dict) -> dict:
    """The lookups on RfmScore that the RFM filters' values ask for ({"rfm_r": "4-5", "rfm_cell": "loyal"} →
    {"recency__range": (4, 5), "cell": "loyal"}); empty values ask for nothing."""
    conditions = {}
    if values.get("rfm_cell"):
        conditions["cell"] = values["rfm_cell"]
    for name, column in SCORE_COLUMNS.items():
        if values.get(name):
            conditions[f"{column}__range"] = score_range(values[name])
    return conditions


def scored(queryset, **conditions):
    """The customers of `queryset` whose score row meets every condition: one EXISTS."""
    return queryset.filter(
        Exists(RfmScore.objects.filter(tenant_id=OuterRef("tenant_id"), customer=OuterRef("pk"), **conditions))
    )


class RfmFilter(django_filters.ChoiceFilter):
    """One of the RFM filters. The first of them with a value applies every RFM condition of the query in one
    EXISTS; the others leave the queryset as it is. Needs its FilterSet as `parent` (CustomerFilter sets it on
    contributed filters as django-filter does on its own)."""

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        values = getattr(self.parent.form, "cleaned_data", {})
        first = next(name for name in RFM_PARAMETERS if values.get(name))
        if first != self.field_name:
            return qs
        return scored(qs, **score_conditions(values))


def rfm_filters(tenant) -> dict[str, django_filters.Filter]:
    ranges = [(value, value.replace("-", "–")) for value in SCORE_RANGES]
    return {
        "rfm_cell": RfmFilter(field_name="rfm_cell", label=_("RFM cell"), choices=RfmCell.choices),
        "rfm_r": RfmFilter(field_name="rfm_r", label=_("Recency score (R)"), choices=ranges),
        "rfm_f": RfmFilter(field_name="rfm_f", label=_("Frequency score (F)"), choices=ranges),
        "rfm_m": RfmFilter(field_name="rfm_m", label=_("Monetary score (M)"), choices=ranges),
    }
