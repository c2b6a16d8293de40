"""Prices of the catalogue: the price a line starts from for a customer (the price book of the customer's level,
else the list price)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from customers.models import Customer
from sales.models import Product, ProductPrice


def level_prices(customer: Customer | None, product_ids: Iterable[int]) -> dict[int, Decimal]:
    """The price book of `customer`'s level for these products, {product id: price}: one query, none without a
    level or products."""
    ids = {pk for pk in product_ids if pk is not None}
    if customer is None or customer.level_id is None or not ids:
        return {}
    return dict(
        ProductPrice.objects.filter(
            tenant_id=customer.tenant_id, level_id=customer.level_id, product_id__in=ids
        ).values_list("product_id", "price")
    )


def default_unit_price(product: Product, prices: dict[int, Decimal]) -> Decimal:
    """The unit price a line of `product` starts from: its level price in `prices` (from level_prices), else its
    list price."""
    return prices.get(product.pk, product.list_price)
