"""Segment and RFM pages: managers build a segment and see its live count, which equals the customer list's count
for the same filters; the segment opens as the customer list; reps may use but not make segments; another
tenant's segment is 404; the RFM grid links each cell to its customers; the customer page shows its scores."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from crm.models import AuditEvent, OutboxTask
from customers.models import Customer
from customers.services.customer import customer_create
from marketing.models import RfmScore, Segment
from marketing.services.rfm import rfm_compute
from sales.models import Order


def _customer(user, name, **fields):
    customer = customer_create(acting_user=user, data={"name": name}, contact={"name": f"{name}联系人"})
    Customer.objects.filter(pk=customer.pk).update(**fields)
    return customer


def _list_count(client, query: str) -> int:
    page = client.get(reverse("customers:list") + "?" + query)
    assert page.status_code == 200
    return page.context["page"].paginator.count


@pytest.mark.django_db
def test_a_manager_builds_a_segment_and_its_count_is_the_lists(world_a, client_for):
    for i in range(3):
        _customer(world_a.rep1, f"上海{i}", region="上海")
    _customer(world_a.rep2, "北京", region="北京")
    client = client_for(world_a.manager)

    count = client.get(reverse("marketing:segment_count"), {"region": "上海"}, HTTP_HX_REQUEST="true")
    assert "HX-Request" in count["Vary"]
    assert "3 位客户" in count.content.decode()  # the tenant speaks zh-hans

    response = client.post(
        reverse("marketing:segment_create"),
        {"name": "上海客户", "description": "华东", "share_team": world_a.sales.pk, "region": "上海", "team": ""},
    )
    segment = Segment.objects.get(tenant=world_a.tenant)
    assert response.status_code == 302 and response.url == reverse("marketing:segment_detail", args=[segment.pk])
    assert segment.filters == {"region": "上海"} and segment.team == world_a.sales and segment.owner == world_a.manager
    assert AuditEvent.objects.filter(action="segment.create", object_id=str(segment.pk)).exists()

    page = client.get(response.url).content.decode()
    assert "3 位客户" in page
    link = re.search(r'href="([^"]+)" data-testid="segment-open"', page).group(1).replace("&amp;", "&")
    assert link == reverse("customers:list") + "?" + segment.query_string
    assert _list_count(client, segment.query_string) == 3


@pytest.mark.django_db
def test_a_bad_filter_is_refused_on_the_form(world_a, world_b, client_for):
    from customers.models import CustomerLevel

    other = CustomerLevel.objects.create(tenant=world_b.tenant, code="VIP", name="别家", order=9)
    response = client_for(world_a.admin).post(
        reverse("marketing:segment_create"), {"name": "坏的", "share_team": "", "level": other.pk}
    )
    assert response.status_code == 422 and not Segment.objects.exists()


@pytest.mark.django_db
def test_reps_use_segments_but_do_not_make_them(world_a, client_for):
    segment = Segment.objects.create(tenant=world_a.tenant, name="全公司", owner=world_a.admin, filters={})
    rep = client_for(world_a.rep1)
    assert rep.get(reverse("marketing:segment_list")).status_code == 200
    assert rep.get(reverse("marketing:segment_detail", args=[segment.pk])).status_code == 200
    assert rep.get(reverse("marketing:segment_create")).status_code == 403
    assert rep.post(reverse("marketing:segment_delete", args=[segment.pk])).status_code == 403
    # A manager shares only with a team they manage, never with the whole company.
    response = client_for(world_a.manager).post(reverse("marketing:segment_create"), {"name": "x", "share_team": ""})
    assert response.status_code == 422 and Segment.objects.count() == 1


@pytest.mark.django_db
def test_a_segment_shared_with_a_team_is_hidden_from_other_teams(world_a, client_for):
    segment = Segment.objects.create(tenant=world_a.tenant, name="一组", owner=world_a.admin, team=world_a.team1)
    assert client_for(world_a.rep1).get(reverse("marketing:segment_detail", args=[segment.pk])).status_code == 200
    assert client_for(world_a.rep2).get(reverse("marketing:segment_detail", args=[segment.pk])).status_code == 404


@pytest.mark.django_db
def test_another_tenants_segment_is_404(world_a, world_b, client_for):
    segment = Segment.objects.create(tenant=world_a.tenant, name="A的", owner=world_a.admin, filters={})
    outsider = client_for(world_b.admin)
    for name in ("marketing:segment_detail", "marketing:segment_edit"):
        assert outsider.get(reverse(name, args=[segment.pk])).status_code == 404
    assert outsider.post(reverse("marketing:segment_delete", args=[segment.pk])).status_code == 404
    assert Segment.objects.filter(pk=segment.pk).exists()


@pytest.mark.django_db
def test_the_segment_list_queries_are_bounded(world_a, client_for, django_assert_max_num_queries):
    Segment.objects.bulk_create(
        [Segment(tenant=world_a.tenant, name=f"细分{i}", owner=world_a.admin, team=world_a.team1) for i in range(60)]
    )
    client = client_for(world_a.admin)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("marketing:segment_list"))
    assert page.content.decode().count('data-testid="segment-row"') == 60


@pytest.fixture
def scored(world_a):
    today = dt.date.today()
    customers = []
    for i in range(5):
        customer = _customer(world_a.rep1, f"评分{i}")
        for k in range(i + 1):
            Order.objects.create(
                tenant=world_a.tenant,
                customer=customer,
                ordered_on=today - dt.timedelta(days=(5 - i) * 20 + k),
                amount=Decimal("100"),
                currency="CNY",
            )
        customers.append(customer)
    rfm_compute(tenant_id=world_a.tenant.pk)
    return customers


@pytest.mark.django_db
def test_the_rfm_grid_links_each_cell_to_its_customers(world_a, client_for, scored, django_assert_max_num_queries):
    client = client_for(world_a.manager)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("marketing:rfm"))
    cells = {c.cell: c.count for c in page.context["cells"]}
    assert cells["champions"] == 1 and cells["lost"] == 1 and sum(cells.values()) == 5
    html = page.content.decode()
    assert f'href="{reverse("customers:list")}?rfm_cell=champions"' in html
    listed = client.get(reverse("customers:list"), {"rfm_cell": "champions"})
    assert [c.name for c in listed.context["customers"]] == ["评分4"]
    assert _list_count(client, "rfm_r=4-5") == 2
    # Recompute now: queued through the outbox, audited.
    assert client.post(reverse("marketing:rfm_recompute")).status_code == 302
    assert OutboxTask.objects.filter(task="marketing.tasks.compute_tenant_rfm").exists()
    assert client_for(world_a.rep1).post(reverse("marketing:rfm_recompute")).status_code == 403
    assert OutboxTask.objects.filter(task="marketing.tasks.compute_tenant_rfm").count() == 1


@pytest.mark.django_db
def test_a_segment_of_an_rfm_cell(world_a, client_for, scored):
    segment = Segment.objects.create(
        tenant=world_a.tenant, name="冠军", owner=world_a.admin, filters={"rfm_cell": "champions"}
    )
    page = client_for(world_a.admin).get(reverse("marketing:segment_detail", args=[segment.pk])).content.decode()
    assert '<span data-testid="segment-count">1 ' in page and "冠军客户" in page  # the tenant speaks zh-hans


@pytest.mark.django_db
def test_the_customer_page_shows_its_rfm(world_a, client_for, scored):
    page = client_for(world_a.rep1).get(reverse("customers:detail", args=[scored[4].pk])).content.decode()
    assert 'data-testid="rfm-cell">冠军客户<' in page and "R 5 · F 5 · M 5" in page
    assert RfmScore.objects.count() == 5
