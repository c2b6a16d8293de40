"""The contract cover a customer carries for the fall-back rules: the last day a signed contract covers it.

Contracts belong to the sales app, which customers never imports: sales computes the cover (one correlated
subquery over its contracts) and hands it to `customer_contract_cover_refresh`, which writes it in one UPDATE."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Expression

from customers.models import Customer
from customers.services.fallback_date import fallback_at_refresh


def customer_contract_cover_refresh(*, tenant_id: int, customer_ids: Iterable[int], cover: Expression) -> int:
    """Set `contract_cover_until` of these customers to `cover`, an expression evaluated per customer row (a
    Subquery with OuterRef("pk") over the caller's contracts; NULL: never signed). One set-based UPDATE, whatever
    the number of customers. Returns how many rows it wrote."""
    ids = list(customer_ids)
    if not ids:
        return 0
    with transaction.atomic():
        written = Customer.objects.filter(tenant_id=tenant_id, pk__in=ids).update(contract_cover_until=cover)
        # A contract signed or ended moves the fall-back date (the contract-aware rule).
        fallback_at_refresh(tenant=tenant_id, ids=ids)
        return written
