"""The product catalogue: administrators maintain it, everyone reads it; codes unique per tenant whatever their
case; the import kind creates and updates products from a spreadsheet."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from crm.errors import DomainError
from crm.imports.models import ImportJob
from crm.models import AuditEvent
from sales.imports.product import ProductKind, parse_decimal
from sales.models import Product
from sales.services.product import product_save

from .quotes import make_product


@pytest.mark.django_db
def test_admin_creates_a_product_and_codes_are_unique_without_case(world):
    product = make_product(world, code="crm-pro")
    assert AuditEvent.objects.filter(action="product.create", object_id=str(product.pk)).exists()
    with pytest.raises(DomainError, match="Another product already has this code"):
        make_product(world, code="CRM-PRO")
    assert Product.objects.count() == 1


@pytest.mark.django_db
def test_a_rep_cannot_change_the_catalogue(world):
    with pytest.raises(PermissionDenied):
        product_save(
            acting_user=world.rep1,
            data={"code": "X", "name": "X", "list_price": Decimal(1), "currency": "CNY", "tax_rate": Decimal(0)},
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("list_price", Decimal("-1"), "list price of zero or more"),
        ("tax_rate", Decimal("101"), "between 0 and 100"),
        ("currency", "XXX", "Choose a currency"),
        ("name", " ", "Enter the product name"),
    ],
)
def test_bad_values_are_refused_with_nothing_saved(world, field, value, message):
    data = {"code": "A1", "name": "A", "list_price": Decimal(1), "currency": "CNY", "tax_rate": Decimal(13)}
    data[field] = value
    with pytest.raises(DomainError, match=message):
        product_save(acting_user=world.admin, data=data)
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_everyone_reads_the_list_only_admins_see_the_form(world, client_for, django_assert_max_num_queries):
    for i in range(5):
        make_product(world, code=f"P-{i}")
    rep = client_for(world.rep1)
    with django_assert_max_num_queries(12):
        body = rep.get(reverse("sales:product_list")).content.decode()
    assert "P-4" in body and "new-product" not in body
    assert rep.get(reverse("sales:product_create")).status_code == 403
    admin = client_for(world.admin)
    response = admin.post(
        reverse("sales:product_create"),
        {"code": "NEW-1", "name": "新品", "list_price": "99.50", "currency": "CNY", "tax_rate": "6", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Product.objects.get(code="NEW-1").list_price == Decimal("99.50")


@pytest.mark.django_db
def test_the_form_shows_errors(world, client_for):
    make_product(world, code="DUP")
    response = client_for(world.admin).post(
        reverse("sales:product_create"),
        {"code": "dup", "name": "x", "list_price": "-3", "currency": "CNY", "tax_rate": "6"},
    )
    assert response.status_code == 422
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()


@pytest.mark.django_db
def test_another_tenants_product_is_404(world, world_b, client_for):
    theirs = make_product(world_b, code="B-1")
    assert client_for(world.admin).get(reverse("sales:product_edit", args=[theirs.pk])).status_code == 404
    body = client_for(world.admin).get(reverse("sales:product_list")).content.decode()
    assert "B-1" not in body


@pytest.mark.parametrize(
    ("text", "value"),
    [("¥1,280.00", "1280.00"), ("1 280 元", "1280"), ("13%", "13"), ("abc", None), ("", None)],
)
def test_parse_decimal(text, value):
    assert parse_decimal(text) == (Decimal(value) if value else None)


def test_a_fraction_is_read_as_a_rate():
    assert parse_decimal("0.13", percent=True) == Decimal("13")
    assert parse_decimal("6", percent=True) == Decimal("6")


@pytest.mark.django_db
def test_the_import_creates_updates_and_rejects(world):
    make_product(world, code="OLD-1", price="100")
    job = ImportJob.objects.create(
        tenant=world.tenant,
        kind="product",
        created_by=world.admin,
        mapping={"code": 0, "name": 1, "list_price": 2, "tax_rate": 3},
    )
    kind = ProductKind(job=job, user=world.admin)
    rows = kind.classify(
        [
            (2, ["NEW-1", "新产品", "¥1,280.00", "13%"]),
            (3, ["old-1", "改名", "200", ""]),
            (4, ["NEW-1", "重复", "1", "0"]),
            (5, ["BAD", "坏价", "abc", "0"]),
        ]
    )
    assert [r.status for r in rows] == ["valid", "valid", "invalid", "invalid"]
    assert "Row 2 of this file" in rows[2].errors["code"]
    kind.create([r for r in rows if r.status == "valid"])
    assert Product.objects.get(code="NEW-1").list_price == Decimal("1280.00")
    old = Product.objects.get(code="OLD-1")
    assert (old.name, old.list_price) == ("改名", Decimal("200.00"))
    assert not ProductKind.can_import(world.rep1)


@pytest.mark.django_db
def test_order_and_opportunity_lines_pick_products(world, world_b, client_for):
    from django.utils import timezone

    from sales.models import Opportunity, OpportunityLine, Order, OrderLine, Pipeline
    from sales.services.pipeline import ensure_default_pipeline

    from .helpers import make_customer

    product = make_product(world, code="CRM-STD", price="6800.00")
    ensure_default_pipeline(world_b.tenant)
    theirs = make_product(world_b, code="B-ONLY", price="1.00")
    customer = make_customer(world.rep1, "选产品客户")
    c = client_for(world.rep1)
    data = {
        "customer": customer.pk,
        "ordered_on": timezone.localdate().isoformat(),
        "currency": "CNY",
        "amount": "",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-product": theirs.pk,
        "lines-0-quantity": "2",
    }
    refused = c.post(reverse("sales:order_create"), data)
    assert refused.status_code == 422 and "Choose a product of your catalogue." in refused.content.decode()
    assert not Order.objects.exists()
    data["lines-0-product"] = product.pk
    data["lines-1-name"] = "上门培训"
    data["lines-1-quantity"] = "1"
    data["lines-1-unit_price"] = "500"
    assert c.post(reverse("sales:order_create"), data).status_code == 302
    lines = list(OrderLine.objects.order_by("position"))
    assert [(line.product_id, line.name, line.unit_price) for line in lines] == [
        (product.pk, product.name, Decimal("6800.00")),
        (None, "上门培训", Decimal("500")),
    ]
    assert Order.objects.get().amount == Decimal("14100.00")
    pipeline = Pipeline.objects.for_tenant(world.tenant).first()
    response = c.post(
        reverse("sales:opportunity_create"),
        {
            "name": "选产品商机",
            "customer": customer.pk,
            "pipeline": pipeline.pk,
            "owner": world.rep1.pk,
            "currency": "CNY",
            "amount": "",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "50",
            "lines-0-product": product.pk,
            "lines-0-quantity": "3",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    opportunity = Opportunity.objects.get(name="选产品商机")
    assert opportunity.amount == Decimal("20400.00")
    assert OpportunityLine.objects.get(opportunity=opportunity).product_id == product.pk
