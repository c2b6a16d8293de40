"""Reads of RFM scores: the grid (customers and amounts per named cell) over the customers a user sees, and one
customer's scores."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from customers.models import Customer
from marketing.models import RfmCell, RfmScore


@dataclass
class GridCell:
    cell: str
    label: str
    count: int
    amount: Decimal


def rfm_grid(user) -> list[GridCell]:
    """Every named cell with its customers and their amount, over Customer.objects.visible_to(user): one query."""
    rows = (
        RfmScore.objects.filter(tenant_id=user.tenant_id, customer__in=Customer.objects.visible_to(user).values("pk"))
        .values("cell")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by()
    )
    found = {row["cell"]: row for row in rows}
    return [
        GridCell(
            cell=value,
            label=str(label),
            count=found.get(value, {}).get("count", 0),
            amount=found.get(value, {}).get("amount") or Decimal("0"),
        )
        for value, label in RfmCell.choices
    ]


def rfm_score_of(customer: Customer) -> RfmScore | None:
    return RfmScore.objects.filter(tenant_id=customer.tenant_id, customer=customer).first()
