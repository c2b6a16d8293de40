"""Figures over a list of opportunities."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from crm.models import Tenant
from sales.models import Opportunity, Stage


def opportunity_totals(qs: QuerySet[Opportunity], tenant: Tenant) -> list[dict]:
    """Count, total and weighted total per currency of the filtered opportunities, exact, in two queries.

    The sums are grouped by currency, stage and probability override only (no join, no product per row), columns
    the status indexes carry (sales_opp_status_close_sum_idx, sales_opp_owner_status_sum_idx), so over the open
    opportunities of a tenant they are an index-only scan; each group's sum is then weighted by its probability
    (the override, else the stage's), which is the same sum as weighting every row."""
    probability = dict(Stage.objects.for_tenant(tenant).values_list("pk", "probability"))
    totals: dict[str, dict] = {}
    for row in (
        qs.order_by()
        .values("currency", "stage_id", "probability_override")
        .annotate(count=Count("*"), total=Sum("amount"))
    ):
        entry = totals.setdefault(
            row["currency"], {"currency": row["currency"], "count": 0, "total": Decimal(0), "weighted": Decimal(0)}
        )
        percent = row["probability_override"]
        if percent is None:
            percent = probability.get(row["stage_id"], 0)
        entry["count"] += row["count"]
        entry["total"] += row["total"]
        entry["weighted"] += row["total"] * percent / Decimal(100)
    return [totals[currency] for currency in sorted(totals)]
