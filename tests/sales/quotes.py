"""Helpers of the quote tests: an opportunity of rep1, products, a quote."""

import itertools
from decimal import Decimal

from sales.models import Pipeline, Product
from sales.services.opportunity import opportunity_create
from sales.services.product import product_save
from sales.services.quote import QuoteLineInput, quote_create

from .helpers import make_customer


def make_product(world, code="CRM-PRO", price="10000.00", tax="13", **extra) -> Product:
    data = {
        "code": code,
        "name": extra.pop("name", f"CRM 专业版 {code}"),
        "category": "软件",
        "unit": "套",
        "list_price": Decimal(price),
        "currency": "CNY",
        "tax_rate": Decimal(tax),
        "is_active": True,
        **extra,
    }
    return product_save(acting_user=world.admin, data=data)


SERIAL = itertools.count(1)


def make_opportunity(world, user=None, name="云帆 CRM 项目"):
    user = user or world.rep1
    customer = make_customer(user, f"{name} 客户{next(SERIAL)}")
    pipeline = Pipeline.objects.for_tenant(world.tenant).first()
    return opportunity_create(
        acting_user=user, customer=customer, name=name, pipeline=pipeline, amount=Decimal("10000"), currency="CNY"
    )


def make_quote(world, *, discount="0", price="10000.00", quantity="1", user=None, opportunity=None):
    opportunity = opportunity or make_opportunity(world, user)
    line = QuoteLineInput(
        name="CRM 专业版",
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        discount_pct=Decimal(discount),
        tax_rate=Decimal("13"),
    )
    return quote_create(acting_user=user or world.rep1, opportunity=opportunity, lines=[line])
