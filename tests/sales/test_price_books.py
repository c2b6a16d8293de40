"""Price books: a per-level price of a product is where a quote, order or opportunity line starts for a customer of
that level; administrators set it on the product's form or through the import; the list shows it."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.errors import DomainError
from crm.imports.models import ImportJob
from crm.models import AuditEvent
from customers.models import CustomerLevel
from sales.imports.product import ProductKind
from sales.models import Opportunity, OpportunityLine, OrderLine, Pipeline, ProductPrice
from sales.services.product import product_save
from sales.services.quote import QuoteLineInput, quote_create

from .helpers import make_customer
from .quotes import make_opportunity, make_product


def _level(world, code="A", name="重点客户", order=1):
    return CustomerLevel.objects.create(tenant=world.tenant, code=code, name=name, order=order)


def _data(product):
    return {
        "code": product.code,
        "name": product.name,
        "list_price": product.list_price,
        "currency": product.currency,
        "tax_rate": product.tax_rate,
        "is_active": True,
    }


@pytest.mark.django_db
def test_admin_sets_and_removes_level_prices_audited(world):
    level_a, level_b = _level(world), _level(world, "B", "普通客户", 2)
    product = make_product(world, price="12800")
    product_save(
        acting_user=world.admin,
        data=_data(product),
        product=product,
        level_prices={level_a: Decimal("9800"), level_b: None},
    )
    assert dict(ProductPrice.objects.values_list("level__code", "price")) == {"A": Decimal("9800.00")}
    event = AuditEvent.objects.filter(action="product.update", object_id=str(product.pk)).latest("pk")
    assert event.details == {"level_prices": {"A": "9800"}}
    product_save(acting_user=world.admin, data=_data(product), product=product, level_prices={level_a: None})
    assert not ProductPrice.objects.exists()


@pytest.mark.django_db
def test_another_tenants_level_is_refused(world, world_b):
    theirs = CustomerLevel.objects.create(tenant=world_b.tenant, code="A", name="A")
    product = make_product(world)
    with pytest.raises(DomainError, match="customer level of your company"):
        product_save(acting_user=world.admin, data=_data(product), product=product, level_prices={theirs: Decimal("1")})
    assert not ProductPrice.objects.exists()


@pytest.mark.django_db
def test_a_quote_line_starts_from_the_customers_level_price(world):
    level = _level(world)
    product = make_product(world, price="12800")
    product_save(acting_user=world.admin, data=_data(product), product=product, level_prices={level: Decimal("9800")})
    opportunity = make_opportunity(world)
    line = QuoteLineInput(quantity=Decimal("2"), product=product)
    plain = quote_create(acting_user=world.rep1, opportunity=opportunity, lines=[line])
    assert plain.lines.get().unit_price == Decimal("12800.00")
    customer = opportunity.customer
    customer.level = level
    customer.save(update_fields=["level"])
    leveled = quote_create(acting_user=world.rep1, opportunity=opportunity, lines=[line])
    assert leveled.lines.get().unit_price == Decimal("9800.00")
    # A price typed on the line wins over the price book.
    typed = quote_create(
        acting_user=world.rep1,
        opportunity=opportunity,
        lines=[QuoteLineInput(quantity=Decimal("1"), product=product, unit_price=Decimal("11000"))],
    )
    assert typed.lines.get().unit_price == Decimal("11000")


@pytest.mark.django_db
def test_order_and_opportunity_lines_use_the_level_price(world, client_for):
    level = _level(world)
    product = make_product(world, code="CRM-STD", price="6800.00")
    product_save(acting_user=world.admin, data=_data(product), product=product, level_prices={level: Decimal("6000")})
    customer = make_customer(world.rep1, "级别价客户")
    customer.level = level
    customer.save(update_fields=["level"])
    c = client_for(world.rep1)
    formset = {
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-product": product.pk,
        "lines-0-quantity": "2",
    }
    response = c.post(
        reverse("sales:order_create"),
        {
            "customer": customer.pk,
            "ordered_on": timezone.localdate().isoformat(),
            "currency": "CNY",
            "amount": "",
            **formset,
        },
    )
    assert response.status_code == 302
    line = OrderLine.objects.get()
    assert (line.unit_price, line.order.amount) == (Decimal("6000.00"), Decimal("12000.00"))
    pipeline = Pipeline.objects.for_tenant(world.tenant).first()
    response = c.post(
        reverse("sales:opportunity_create"),
        {
            "name": "级别价商机",
            "customer": customer.pk,
            "pipeline": pipeline.pk,
            "owner": world.rep1.pk,
            "currency": "CNY",
            "amount": "",
            **formset,
        },
    )
    assert response.status_code == 302
    opportunity = Opportunity.objects.get(name="级别价商机")
    assert opportunity.amount == Decimal("12000.00")
    assert OpportunityLine.objects.get(opportunity=opportunity).unit_price == Decimal("6000.00")


@pytest.mark.django_db
def test_the_form_edits_level_prices_and_the_list_shows_them(world, client_for, django_assert_max_num_queries):
    level = _level(world)
    product = make_product(world, code="P-0")
    admin = client_for(world.admin)
    form = admin.get(reverse("sales:product_edit", args=[product.pk])).content.decode()
    assert f'name="level_{level.pk}"' in form
    response = admin.post(
        reverse("sales:product_edit", args=[product.pk]),
        {**_data(product), "is_active": "on", f"level_{level.pk}": "-1"},
    )
    assert response.status_code == 422 and not ProductPrice.objects.exists()
    response = admin.post(
        reverse("sales:product_edit", args=[product.pk]),
        {**_data(product), "is_active": "on", f"level_{level.pk}": "8800"},
    )
    assert response.status_code == 302
    assert ProductPrice.objects.get(product=product).price == Decimal("8800.00")
    for i in range(1, 8):
        other = make_product(world, code=f"P-{i}")
        ProductPrice.objects.create(tenant=world.tenant, product=other, level=level, price=Decimal(i))
    rep = client_for(world.rep1)
    with django_assert_max_num_queries(12):
        body = rep.get(reverse("sales:product_list")).content.decode()
    assert body.count('data-testid="level-price"') == 8
    assert "8,800.00" in body or "8800.00" in body


@pytest.mark.django_db
def test_the_import_sets_level_prices(world):
    _level(world)
    _level(world, "B", "普通客户", 2)
    job = ImportJob.objects.create(
        tenant=world.tenant,
        kind="product",
        created_by=world.admin,
        mapping={"code": 0, "name": 1, "list_price": 2, "level_prices": 3},
    )
    kind = ProductKind(job=job, user=world.admin)
    rows = kind.classify(
        [
            (2, ["LV-1", "级别价产品", "12,800", "A=9,800; 普通客户：11000"]),
            (3, ["LV-2", "无级别价", "100", ""]),
            (4, ["LV-3", "错误级别", "100", "Z=1"]),
        ]
    )
    assert [r.status for r in rows] == ["valid", "valid", "invalid"]
    assert "level=price" in rows[2].errors["level_prices"]
    kind.create([r for r in rows if r.status == "valid"])
    prices = dict(ProductPrice.objects.filter(product__code="LV-1").values_list("level__code", "price"))
    assert prices == {"A": Decimal("9800.00"), "B": Decimal("11000.00")}
    assert not ProductPrice.objects.filter(product__code="LV-2").exists()
