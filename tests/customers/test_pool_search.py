"""The pool's search matches only what the pool shows (names, pinyin, initials, contact names): masked phones,
emails and credit codes can be neither matched nor confirmed through it."""

import pytest
from django.urls import reverse

from customers.models import PoolTeam
from customers.services.customer import customer_create
from customers.services.tenant import default_pool


@pytest.fixture
def secret(world_a):
    pool = default_pool(world_a.tenant)
    PoolTeam.objects.get_or_create(tenant=world_a.tenant, pool=pool, team=world_a.sales)
    return customer_create(
        acting_user=world_a.admin,
        data={"name": "张三贸易", "credit_code": "91330106MA2GL1234X"},
        contact={"name": "李四", "mobile": "19812344623", "email": "boss@zhangsan.test"},
        owner=None,
        to_pool=pool,
    )


def names_found(client, q: str) -> str:
    response = client.get(reverse("pool:list"), {"q": q})
    assert response.status_code == 200
    return "".join(str(c.name) for c in response.context["customers"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "probe",
    [
        "19812344623",  # the full number
        "+86 198 1234 4623",
        "4623",  # last digits, as shown in 198****4623
        "44623",  # one digit more than shown: the recovery step
        "1234",
        "boss@zhangsan.test",  # an email, confirmed exactly
        "91330106MA2GL1234X",  # a credit code
        "zhangsan.test",
    ],
)
def test_masked_values_find_nothing_in_the_pool(world_a, client_for, secret, probe):
    assert names_found(client_for(world_a.rep1), probe) == ""


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["张三", "zhang", "zs", "三贸易", "李四"])
def test_what_the_pool_shows_is_searchable(world_a, client_for, secret, query):
    assert names_found(client_for(world_a.rep1), query) == "张三贸易"


@pytest.mark.django_db
def test_owned_customers_keep_the_full_search(world_a, client_for, secret):
    """Claimed, the customer's phone finds it again on the rep's own list."""
    client = client_for(world_a.rep1)
    assert client.post(reverse("pool:claim", args=[secret.pk])).status_code == 302
    response = client.get(reverse("customers:list"), {"q": "4623"})
    assert [c.name for c in response.context["page"]] == ["张三贸易"]


def new_customer_errors(client, name, *, mobile="", email="", credit_code=""):
    response = client.post(
        reverse("customers:create"),
        {
            "kind": "company",
            "name": name,
            "status": "potential",
            "credit_code": credit_code,
            "contact_name": "王五",
            "contact_mobile": mobile,
            "contact_email": email,
        },
    )
    assert response.status_code == 422
    return str(response.context["form"].errors)


MASKED_PROBES = [
    {"mobile": "19812344623"},
    {"email": "boss@zhangsan.test"},
    {"credit_code": "91330106MA2GL1234X"},
]


@pytest.mark.django_db
@pytest.mark.parametrize("probe", MASKED_PROBES)
def test_a_duplicate_refusal_names_only_the_pool_not_the_customer(world_a, client_for, secret, probe):
    """Trying numbers on the new-customer form must not confirm whose masked phone, email or credit code it is."""
    world_a.tenant.language = "en"
    world_a.tenant.save()
    errors = new_customer_errors(client_for(world_a.rep1), "新公司", **probe)
    assert "already belongs to an existing customer in the pool" in errors
    assert "张三贸易" not in errors


@pytest.mark.django_db
@pytest.mark.parametrize("probe", MASKED_PROBES)
def test_a_duplicate_refusal_does_not_name_a_colleagues_customer_by_its_masked_value(
    world_a, client_for, secret, probe
):
    """An admin sees a rep's customer but its phones, emails and credit code masked: the refusal names the owner,
    not the customer, or it would confirm the masked value."""
    world_a.tenant.language = "en"
    world_a.tenant.save()
    secret.owner = world_a.rep1
    secret.save()
    errors = new_customer_errors(client_for(world_a.admin), "新公司", **probe)
    assert "already belongs to an existing customer held by A 销售一" in errors
    assert "张三贸易" not in errors
    # The owner is told which of their customers it is.
    errors = new_customer_errors(client_for(world_a.rep1), "新公司", **probe)
    assert "张三贸易" in errors


@pytest.mark.django_db
def test_a_duplicate_company_name_still_names_a_visible_customer(world_a, client_for, secret):
    """The name is shown wherever the customer is, so the refusal may say it."""
    secret.owner = world_a.rep1
    secret.save()
    assert "张三贸易" in new_customer_errors(client_for(world_a.admin), "张三贸易有限公司")
