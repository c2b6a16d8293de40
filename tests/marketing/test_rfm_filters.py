"""The RFM filters of the customer list and of segments: however many are set, one EXISTS on the scores carries
them all, and it picks exactly the customers that one EXISTS per condition picked (the former query) and that the
scores say, on planted scores covering every value."""

import itertools

import pytest
from django.db.models import Exists, OuterRef
from django.utils import timezone

from customers.models import Customer
from customers.services.customer import customer_create
from marketing.filters import score_range
from marketing.models import RfmCell, RfmScore
from marketing.selectors.segment import filter_customers

CELLS = [RfmCell.CHAMPIONS, RfmCell.LOYAL, RfmCell.AT_RISK, RfmCell.LOST]
FILTERS = [
    {"rfm_r": "4-5", "rfm_f": "4-5"},
    {"rfm_r": "1-2", "rfm_f": "5", "rfm_m": "4-5"},
    {"rfm_m": "3"},
    {"rfm_cell": "champions", "rfm_r": "5"},
    {"rfm_cell": "at_risk", "rfm_f": "2-4", "rfm_m": "1-5"},
    {"region": "上海", "rfm_r": "3-5", "rfm_m": "1-2"},
    {"rfm_r": "1-5", "rfm_f": "1-5", "rfm_m": "1-5"},
    {"rfm_cell": "lost"},
]


@pytest.fixture
def planted(world_a, world_b):
    """25 scored customers with R, F and M running through 1–5 in different orders, two unscored, and a scored
    customer of another tenant that meets every filter."""
    now = timezone.now()
    rows = {}
    for i in range(27):
        customer = customer_create(
            acting_user=world_a.rep1, data={"name": f"打分{i}", "region": "上海" if i % 3 else "北京"}
        )
        if i < 25:
            r, f, m, cell = 1 + i % 5, 1 + (i // 5) % 5, 1 + (i * 3) % 5, CELLS[i % len(CELLS)]
            RfmScore.objects.create(
                tenant=world_a.tenant,
                customer=customer,
                last_order_on=now.date(),
                orders=f,
                amount=m * 100,
                recency=r,
                frequency=f,
                monetary=m,
                cell=cell,
                computed_at=now,
            )
            rows[customer.pk] = (customer.region, r, f, m, cell)
        else:
            rows[customer.pk] = (customer.region, None, None, None, None)
    other = customer_create(acting_user=world_b.rep1, data={"name": "别家", "region": "上海"})
    RfmScore.objects.create(
        tenant=world_b.tenant,
        customer=other,
        last_order_on=now.date(),
        orders=5,
        amount=1,
        recency=5,
        frequency=5,
        monetary=5,
        cell=RfmCell.CHAMPIONS,
        computed_at=now,
    )
    return rows


def expected(rows, filters):
    picked = set()
    for pk, (region, r, f, m, cell) in rows.items():
        scores = {"rfm_r": r, "rfm_f": f, "rfm_m": m}
        if "region" in filters and region != filters["region"]:
            continue
        if any(key in filters for key in ("rfm_cell", *scores)) and r is None:
            continue
        if "rfm_cell" in filters and cell != filters["rfm_cell"]:
            continue
        if all(
            score_range(filters[key])[0] <= value <= score_range(filters[key])[1]
            for key, value in scores.items()
            if key in filters
        ):
            picked.add(pk)
    return picked


def one_exists_per_condition(tenant, filters):
    """The former query: a separate EXISTS on the scores for each RFM filter."""
    customers = Customer.objects.filter(tenant_id=tenant.pk, deleted_at__isnull=True)
    if "region" in filters:
        customers = customers.filter(region=filters["region"])
    conditions = [{"cell": filters["rfm_cell"]}] if "rfm_cell" in filters else []
    for key, column in (("rfm_r", "recency"), ("rfm_f", "frequency"), ("rfm_m", "monetary")):
        if key in filters:
            conditions.append({f"{column}__range": score_range(filters[key])})
    for condition in conditions:
        scores = RfmScore.objects.filter(tenant_id=OuterRef("tenant_id"), customer=OuterRef("pk"), **condition)
        customers = customers.filter(Exists(scores))
    return customers


@pytest.mark.django_db
@pytest.mark.parametrize("filters", FILTERS)
def test_one_exists_picks_the_same_customers(world_a, planted, filters):
    queryset = filter_customers(world_a.tenant, filters)
    assert str(queryset.query).count("EXISTS") == 1
    picked = set(queryset.values_list("pk", flat=True))
    assert picked == expected(planted, filters)
    assert picked == set(one_exists_per_condition(world_a.tenant, filters).values_list("pk", flat=True))


@pytest.mark.django_db
def test_every_pair_of_score_ranges(world_a, planted):
    ranges = ["1", "2-3", "4-5", "1-5"]
    for r, f in itertools.product(ranges, ranges):
        filters = {"rfm_r": r, "rfm_f": f}
        assert set(filter_customers(world_a.tenant, filters).values_list("pk", flat=True)) == expected(
            planted, filters
        ), filters


@pytest.mark.django_db
def test_a_bad_score_range_picks_nobody(world_a, planted):
    assert not filter_customers(world_a.tenant, {"rfm_r": "9-9", "rfm_f": "4-5"}).exists()
