"""The product catalogue: administrators add and change products (one at a time here, many through the import
kind in sales/imports/product.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.models import CustomerLevel
from sales.models import KNOWN_CURRENCIES, Product, ProductPrice

FIELDS = ("code", "name", "category", "unit", "list_price", "currency", "tax_rate", "is_active", "description")


def product_check(data: dict[str, Any]) -> None:
    """The rules of a product's values (shared by the form and the import); DomainError names the field."""
    if not (data.get("code") or "").strip():
        raise DomainError(_("Enter the product code."), field="code")
    if not (data.get("name") or "").strip():
        raise DomainError(_("Enter the product name."), field="name")
    price = data.get("list_price")
    if price is None or price < 0:
        raise DomainError(_("Enter a list price of zero or more."), field="list_price")
    if data.get("currency") not in KNOWN_CURRENCIES:
        raise DomainError(_("Choose a currency."), field="currency")
    rate = data.get("tax_rate")
    if rate is None or not Decimal(0) <= rate <= Decimal(100):
        raise DomainError(_("The tax rate is a percentage between 0 and 100."), field="tax_rate")


def product_save(
    *,
    acting_user: User,
    data: dict[str, Any],
    product: Product | None = None,
    level_prices: dict[CustomerLevel, Decimal | None] | None = None,
) -> Product:
    """Create a product (no `product`) or change one; codes are unique per tenant whatever their case.
    `level_prices` sets the price book ({customer level: price, None removing the level's price}); levels left out
    keep theirs."""
    require_admin(acting_user)
    product_check(data)
    level_prices = level_prices or {}
    for level, price in level_prices.items():
        if level.tenant_id != acting_user.tenant_id:
            raise DomainError(_("Choose a customer level of your company."), field="level_prices")
        if price is not None and price < 0:
            raise DomainError(_("Enter a level price of zero or more."), field=f"level_{level.pk}")
    values = {key: data[key] for key in FIELDS if key in data}
    values["code"] = values["code"].strip()
    values["name"] = values["name"].strip()
    clash = Product.objects.for_tenant(acting_user.tenant).filter(code__iexact=values["code"])
    if product is not None:
        clash = clash.exclude(pk=product.pk)
    if clash.exists():
        raise DomainError(_("Another product already has this code."), field="code")
    try:
        with transaction.atomic():
            if product is None:
                product = Product.objects.create(tenant=acting_user.tenant, created_by=acting_user, **values)
                action = "product.create"
            else:
                product = Product.objects.select_for_update().get(pk=product.pk, tenant=acting_user.tenant)
                for key, value in values.items():
                    setattr(product, key, value)
                product.save()
                action = "product.update"
            changed = product_prices_set(acting_user=acting_user, product=product, prices=level_prices)
            details = {"level_prices": changed} if changed else None
            audit(tenant=acting_user.tenant, actor=acting_user, action=action, obj=product, details=details)
    except IntegrityError as exc:
        raise DomainError(_("Another product already has this code."), field="code") from exc
    return product


def product_prices_set(
    *, acting_user: User, product: Product, prices: dict[CustomerLevel, Decimal | None]
) -> dict[str, str | None]:
    """Write a product's price book entries inside the caller's transaction (product_save, the import): a price
    upserts the level's entry, None deletes it. Returns what changed, {level code: new price or None}."""
    if not prices:
        return {}
    current = dict(ProductPrice.objects.filter(product=product).values_list("level_id", "price"))
    changed: dict[str, str | None] = {}
    removed = [level.pk for level, price in prices.items() if price is None and level.pk in current]
    if removed:
        ProductPrice.objects.filter(product=product, level_id__in=removed).delete()
    upserts = [
        ProductPrice(tenant_id=product.tenant_id, product=product, level=level, price=price, created_by=acting_user)
        for level, price in prices.items()
        if price is not None and current.get(level.pk) != price
    ]
    if upserts:
        ProductPrice.objects.bulk_create(
            upserts,
            update_conflicts=True,
            unique_fields=["tenant", "product", "level"],
            update_fields=["price", "updated_at"],
        )
    for level, price in prices.items():
        if price is None and level.pk in current:
            changed[level.code] = None
        elif price is not None and current.get(level.pk) != price:
            changed[level.code] = str(price)
    return changed
