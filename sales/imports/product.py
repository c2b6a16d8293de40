"""The import kind "product": the catalogue from a spreadsheet, one product per row. A row whose code is already in
the catalogue updates that product (a new price list is imported as it is); a code repeated within the file, a
missing name or an unreadable price rejects the row. Administrators import, as they maintain the catalogue."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models.functions import Upper
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from crm.imports.kind import ImportKind, Row, RowStatus
from crm.imports.reader import Target
from crm.models import Role
from customers.models import CustomerLevel
from sales.models import KNOWN_CURRENCIES, Product, ProductPrice

TARGETS = (
    Target(
        "code", gettext_lazy("Product code"), ("编码", "产品编码", "编号", "货号", "code", "sku"), 40, required=True
    ),
    Target("name", gettext_lazy("Name"), ("名称", "产品名称", "品名", "产品", "name", "product"), 200, required=True),
    Target("category", gettext_lazy("Category"), ("分类", "类别", "产品分类", "category"), 100),
    Target("unit", gettext_lazy("Unit"), ("单位", "unit"), 20),
    Target(
        "list_price",
        gettext_lazy("List price"),
        ("价格", "单价", "标准价", "售价", "price", "list price"),
        30,
        required=True,
    ),
    Target("currency", gettext_lazy("Currency"), ("币种", "货币", "currency"), 10),
    Target("tax_rate", gettext_lazy("Tax rate (%)"), ("税率", "tax", "tax rate", "vat"), 10),
    Target("is_active", gettext_lazy("Active"), ("状态", "在售", "启用", "active", "status"), 10),
    Target(
        "level_prices",
        gettext_lazy("Level prices (e.g. A=9800; B=11000)"),
        ("级别价格", "客户级别价格", "价格表", "level prices", "price book"),
        300,
    ),
)
LEVEL_PRICE = re.compile(r"^\s*([^=:：＝]+?)\s*[=:：＝]\s*(.+?)\s*$")

NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
INACTIVE = {"0", "no", "false", "inactive", "否", "停售", "停用", "下架", "n"}


def parse_decimal(text: str, *, percent: bool = False) -> Decimal | None:
    """ "¥1,280.00", "1 280 元", "13%", "0.13" (a rate below 1 read as a fraction when `percent`) → Decimal; None
    when unreadable."""
    cleaned = re.sub(r"[\s,，¥￥元%]|RMB|CNY", "", text or "", flags=re.IGNORECASE)
    if not NUMBER.match(cleaned):
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if percent and "%" not in text and Decimal(0) < value < Decimal(1):
        value *= 100
    return value


@dataclass
class ProductRow(Row):
    product: dict[str, Any] = field(default_factory=dict)
    # {customer level id: price} from the "level prices" column; levels not named keep their price.
    prices: dict[int, Decimal] = field(default_factory=dict)


class ProductKind(ImportKind):
    key = "product"
    label = gettext_lazy("Products")
    title = gettext_lazy("Import products")
    description = gettext_lazy(
        "One product per row, below a header row: its code, name and list price at least. A row whose code is "
        "already in the catalogue updates that product."
    )
    mapping_hint = gettext_lazy(
        "Choose the columns of the code, the name and the list price; a column of level prices (A=9800; B=11000) "
        "sets the price book."
    )
    targets = TARGETS
    audit_action = "product.import"
    list_url_name = "sales:product_list"
    upload_url_name = "sales:product_import"
    menu = "products"
    roles = (Role.ADMIN,)
    refusal = gettext_lazy("Only administrators maintain the product catalogue.")
    result_text = ngettext_lazy(
        "%(created)d product imported or updated, %(rejected)d rows rejected.",
        "%(created)d products imported or updated, %(rejected)d rows rejected.",
        "created",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen: dict[str, int] = {}
        self.levels: dict[str, int] | None = None

    def parse_level_prices(self, text: str) -> dict[int, Decimal] | None:
        """ "A=9800; B=11,000" (level codes or names, separated by ; , or new lines) → {level id: price}; None when a
        part names no level of the tenant or its price is unreadable."""
        if self.levels is None:
            self.levels = {}
            for pk, code, name in CustomerLevel.objects.filter(tenant=self.tenant).values_list("pk", "code", "name"):
                self.levels[name.strip().upper()] = pk
                self.levels[code.strip().upper()] = pk
        prices = {}
        for part in re.split(r"[;；\n]|[,，](?=\s*[^\d\s])", text):
            if not part.strip():
                continue
            match = LEVEL_PRICE.match(part)
            level = self.levels.get(match.group(1).strip().upper()) if match else None
            price = parse_decimal(match.group(2)) if match else None
            if level is None or price is None or price < 0:
                return None
            prices[level] = price.quantize(Decimal("0.01"))
        return prices

    def classify(self, batch: list[tuple[int, list[str]]]) -> list[ProductRow]:
        rows = []
        for number, cells in batch:
            row = self.row(number, cells, ProductRow)
            code, name = row.get("code").strip(), row.get("name").strip()
            if not code:
                row.refuse("code", _("The product code is missing."))
            elif code.upper() in self.seen:
                row.refuse("code", _("Row %(row)d of this file has the same code.") % {"row": self.seen[code.upper()]})
            if not name:
                row.refuse("name", _("The name is missing."))
            price = parse_decimal(row.get("list_price"))
            if price is None or price < 0:
                row.refuse("list_price", _("Enter a price of zero or more, e.g. 1280.00."))
            currency = (row.get("currency").strip().upper() or self.tenant.currency).replace("RMB", "CNY")
            if currency in ("人民币", "元"):
                currency = "CNY"
            if currency not in KNOWN_CURRENCIES:
                row.refuse(
                    "currency", _("Unknown currency: use one of %(codes)s.") % {"codes": ", ".join(KNOWN_CURRENCIES)}
                )
            tax = parse_decimal(row.get("tax_rate"), percent=True) if row.get("tax_rate").strip() else Decimal("13")
            if tax is None or not Decimal(0) <= tax <= Decimal(100):
                row.refuse("tax_rate", _("Enter a tax rate between 0 and 100, e.g. 13%."))
            prices = self.parse_level_prices(row.get("level_prices"))
            if prices is None:
                row.refuse(
                    "level_prices",
                    _("Write the level prices as level=price separated by semicolons, e.g. A=9800; B=11000."),
                )
            if row.status == RowStatus.VALID:
                self.seen[code.upper()] = number
                row.prices = prices
                row.product = {
                    "code": code,
                    "name": name,
                    "category": row.get("category").strip(),
                    "unit": row.get("unit").strip(),
                    "list_price": price.quantize(Decimal("0.01")),
                    "currency": currency,
                    "tax_rate": tax.quantize(Decimal("0.01")),
                    "is_active": row.get("is_active").strip().lower() not in INACTIVE,
                }
            rows.append(row)
        return rows

    def create(self, rows: list[ProductRow]) -> list[ProductRow]:
        """Insert new codes and update existing ones (matched without case), in the commit's transaction."""
        codes = [row.product["code"].upper() for row in rows]
        existing = {
            p.code.upper(): p
            for p in Product.objects.for_tenant(self.tenant)
            .annotate(code_upper=Upper("code"))
            .filter(code_upper__in=codes)
            .select_for_update()
        }
        new, changed, priced = [], [], []
        for row in rows:
            data = row.product
            product = existing.get(data["code"].upper())
            if product is None:
                product = Product(tenant=self.tenant, created_by=self.user, **data)
                new.append(product)
            else:
                for key, value in data.items():
                    if key != "code":
                        setattr(product, key, value)
                changed.append(product)
            priced.extend((product, level, price) for level, price in row.prices.items())
        Product.objects.bulk_create(new)
        if priced:
            ProductPrice.objects.bulk_create(
                [
                    ProductPrice(tenant=self.tenant, product=product, level_id=level, price=price, created_by=self.user)
                    for product, level, price in priced
                ],
                update_conflicts=True,
                unique_fields=["tenant", "product", "level"],
                update_fields=["price", "updated_at"],
            )
        if changed:
            Product.objects.bulk_update(
                changed, ["name", "category", "unit", "list_price", "currency", "tax_rate", "is_active"]
            )
        return []
