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
