"""Receivables (应收): what signed contracts still owe, per customer or per rep, with the overdue part in aging
buckets (days past the due date: 0–30, 31–60, 61–90, over 90), grouped in SQL over the instalments the user may see;
and the instalments behind each figure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from crm.models import User
from sales.models import ContractStatus, Instalment

COLLECTING = (ContractStatus.SIGNED, ContractStatus.ACTIVE, ContractStatus.COMPLETED)
# Bucket key → (fewest, most) days past the due date (None: no upper end).
BUCKETS = {"0-30": (1, 30), "31-60": (31, 60), "61-90": (61, 90), "90+": (91, None)}
GROUPS = {
    "customer": ("contract__customer", "contract__customer__name"),
    "rep": ("contract__owner", "contract__owner__full_name"),
}


def bucket_filter(key: str, today: dt.date) -> Q:
    """Instalments `key` days past due on `today` ("overdue": any, "current": not yet due)."""
    if key == "overdue":
        return Q(due_on__lt=today)
    if key == "current":
        return Q(due_on__gte=today)
    low, high = BUCKETS[key]
    condition = Q(due_on__lte=today - dt.timedelta(days=low))
    if high is not None:
        condition &= Q(due_on__gte=today - dt.timedelta(days=high))
    return condition


def open_instalments(user: User) -> QuerySet[Instalment]:
    """The unpaid instalments of collecting contracts that `user` may see."""
    return Instalment.objects.visible_to(user).open().filter(contract__status__in=COLLECTING)


def receivables(user: User, *, by: str, today: dt.date) -> list[dict]:
    """One row per customer (or rep) and currency: outstanding, overdue and each aging bucket. One query."""
    owed = F("amount") - F("received")
    money = DecimalField(max_digits=16, decimal_places=2)

    def total(condition: Q | None = None):
        return Coalesce(Sum(owed, filter=condition, output_field=money), Value(Decimal(0)), output_field=money)

    key, name = GROUPS[by]
    rows = (
        open_instalments(user)
        .values(key, name, "contract__currency")
        .annotate(
            outstanding=total(),
            overdue=total(bucket_filter("overdue", today)),
            **{f"b{i}": total(bucket_filter(bucket, today)) for i, bucket in enumerate(BUCKETS)},
        )
        .order_by("-overdue", "-outstanding", name)
    )
    return [
        {
            "id": row[key],
            "name": row[name],
            "currency": row["contract__currency"],
            "outstanding": row["outstanding"],
            "overdue": row["overdue"],
            "buckets": [(bucket, row[f"b{i}"]) for i, bucket in enumerate(BUCKETS)],
        }
        for row in rows
    ]
