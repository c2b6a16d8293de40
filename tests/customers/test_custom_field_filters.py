"""The customer list's inputs for custom fields: one per field in use, built by the list's FilterSet (as the lead,
opportunity and ticket lists), the same `cf_<key>` parameters as the API."""

import pytest
from django.urls import reverse

from crm.api.services.custom_field import custom_field_archive, custom_field_save
from customers.services.customer import customer_create


def define(admin, key, type, **extra):
    return custom_field_save(
        acting_user=admin, kind="customer", key=key, label=extra.pop("label", key), type=type, **extra
    )


@pytest.fixture
def customers(world_a):
    define(world_a.admin, "channel", "choice", label="渠道", choices=["直销", "代理"])
    define(world_a.admin, "vip", "boolean", label="重点客户")
    define(world_a.admin, "signed_on", "date", label="签约日期")
    define(world_a.admin, "contract_no", "text", label="合同号")
    old = define(world_a.admin, "old_code", "text", label="旧编码")
    rows = [
        ("云帆科技有限公司", {"channel": "直销", "vip": True, "signed_on": "2026-03-01", "contract_no": "HT-001"}),
        ("海川贸易有限公司", {"channel": "代理", "vip": False, "contract_no": "HT-002"}),
        ("星河软件有限公司", {"channel": "代理", "signed_on": "2026-03-01", "old_code": "X1"}),
        ("北辰物流有限公司", {}),
    ]
    made = {
        name: customer_create(acting_user=world_a.rep1, data={"name": name, "custom": custom}) for name, custom in rows
    }
    custom_field_archive(acting_user=world_a.admin, field=old)
    return made


def names(response):
    return sorted(c.name for c in response.context["customers"])


@pytest.mark.django_db
def test_the_list_shows_an_input_per_field_in_use_and_filters_by_it(
    world_a, customers, client_for, django_assert_max_num_queries
):
    client = client_for(world_a.rep1)
    # With the rep's shares read before the list and the page's ids before its rows.
    with django_assert_max_num_queries(18):
        page = client.get(reverse("customers:list"))
    html = page.content.decode()
    for name in ("cf_channel", "cf_vip", "cf_signed_on", "cf_contract_no"):
        assert f'name="{name}"' in html
    assert "渠道" in html and "签约日期" in html and 'type="date"' in html
    assert 'name="cf_old_code"' not in html  # archived: no input
    assert len(page.context["customers"]) == 4

    assert names(client.get(reverse("customers:list"), {"cf_channel": "代理"})) == [
        "星河软件有限公司",
        "海川贸易有限公司",
    ]
    assert names(client.get(reverse("customers:list"), {"cf_vip": "true"})) == ["云帆科技有限公司"]
    assert names(client.get(reverse("customers:list"), {"cf_vip": "false"})) == ["海川贸易有限公司"]
    both = client.get(reverse("customers:list"), {"cf_channel": "代理", "cf_signed_on": "2026-03-01"})
    assert names(both) == ["星河软件有限公司"]
    assert names(client.get(reverse("customers:list"), {"cf_contract_no": "HT-002"})) == ["海川贸易有限公司"]
    chosen = client.get(reverse("customers:list"), {"cf_channel": "直销"}).content.decode()
    assert '<option value="直销" selected>' in chosen


@pytest.mark.django_db
def test_a_bad_value_filters_nothing_out_and_is_shown_on_the_form(world_a, customers, client_for):
    client = client_for(world_a.rep1)
    for params in ({"cf_signed_on": "31/02/2026"}, {"cf_channel": "电话"}, {"cf_vip": "maybe"}):
        response = client.get(reverse("customers:list"), params)
        assert response.status_code == 200
        assert len(response.context["customers"]) == 4
        assert response.context["filter"].form.errors
    # A good value beside a bad one still filters.
    mixed = client.get(reverse("customers:list"), {"cf_channel": "直销", "cf_signed_on": "oops"})
    assert names(mixed) == ["云帆科技有限公司"]
