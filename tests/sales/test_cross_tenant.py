"""Tenant B never reaches tenant A's sales rows: every sales URL with A's ids is 404 (GET and POST), and no page B
opens — lists, searches, pickers, the calendar, the board, the home widget — shows A's data. The public lead form is
open to anyone by design and shows none of A's data either."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.services.customer import customer_create
from sales.models import Appointment, FollowUp, Order, Task

from ..conftest import build_world
from ..security import samples_imports, samples_lead_pools, samples_leads, samples_quotes
from ..security.samples_sales import SAMPLES as ACTIVITY_SAMPLES
from ..security.samples_sales import plant
from ..security.test_url_sweep import all_patterns

MARKER = "marka"
# The lead import's old URLs (redirects to crm.imports' pages) are sales patterns too.
LEAD_IMPORT_SAMPLES = {name: sample for name, sample in samples_imports.SAMPLES.items() if name.startswith("sales:")}
SAMPLES = {
    **ACTIVITY_SAMPLES,
    **samples_leads.SAMPLES,
    **LEAD_IMPORT_SAMPLES,
    **samples_quotes.SAMPLES,
    **samples_lead_pools.SAMPLES,
}


def sales_patterns():
    return [(name, params) for name, params in all_patterns() if name.startswith("sales:")]


@pytest.fixture
def worlds(db, django_capture_on_commit_callbacks):
    world_a = build_world("MARKA")
    world_b = build_world("B")
    with django_capture_on_commit_callbacks(execute=False):
        customer_create(
            acting_user=world_a.rep1,
            data={"name": "MARKA 云帆科技有限公司"},
            contact={"name": "MARKA 张三", "mobile": "13800138000"},
        )
        rows = plant(world_a)
        samples_leads.plant(world_a)
        samples_quotes.plant(world_a)
    return world_a, world_b, rows


@pytest.mark.django_db
def test_every_sales_page_is_404_or_clean_for_the_other_tenant(worlds):
    world_a, world_b, rows = worlds
    patterns = sales_patterns()
    assert {name for name, params in patterns if params} == set(SAMPLES)
    for outsider in (world_b.admin, world_b.manager, world_b.rep1):
        c = Client()
        c.force_login(outsider)
        for name, params in patterns:
            url = reverse(name, kwargs=SAMPLES[name](world_a) if params else {})
            for method in ("get", "post"):
                response = getattr(c, method)(url)
                where = f"{outsider.email} {method.upper()} {url}"
                assert response.status_code != 500, where
                body = b"".join(response.streaming_content) if response.streaming else response.content
                assert MARKER not in body.decode(errors="replace").lower(), where
                if params and name not in samples_leads.PUBLIC:
                    assert response.status_code in (404, 405), where
            if not params:
                for query in ({"q": "MARK"}, {"member": "all"}, {"status": "all"}, {"view": "month"}):
                    response = c.get(url, query)
                    body = b"".join(response.streaming_content) if response.streaming else response.content
                    assert MARKER not in body.decode(errors="replace").lower(), f"{url} {query}"
        home = c.get(reverse("home")).content.decode().lower()
        assert MARKER not in home
        # A's ids smuggled into query strings and forms are refused too.
        customer_pk = rows["customer"].pk
        assert MARKER not in c.get(reverse("sales:task_create"), {"customer": customer_pk}).content.decode().lower()
        assert MARKER not in c.get(reverse("sales:contact_options"), {"customer": customer_pk}).content.decode().lower()
        assert (
            MARKER not in c.get(reverse("sales:customer_options"), {"customer": customer_pk}).content.decode().lower()
        )
    # Nothing of A was changed by B's posts.
    assert Task.objects.get(title="MARKA task").done_at is None
    assert Appointment.objects.live().filter(tenant=world_a.tenant).count() == 2
    assert Order.objects.valid().filter(tenant=world_a.tenant).count() == 2
    assert FollowUp.objects.filter(tenant=world_a.tenant, customer__isnull=False, opportunity__isnull=True).count() == 1
    leads_planted = samples_leads.plant(world_a)
    assert leads_planted["lead"].status == "contacted" and leads_planted["lead"].owner == world_a.rep1
    assert leads_planted["opportunity"].stage.position == 0  # B's moves changed nothing


@pytest.mark.django_db
def test_a_sees_its_own_rows(worlds, client_for):
    world_a, _world_b, rows = worlds
    c = client_for(world_a.rep1)
    assert "MARKA task" in c.get(reverse("sales:task_list")).content.decode()
    assert "MARKA follow-up" in c.get(reverse("sales:followup_list")).content.decode()
    assert "MARKA-SO-1" in c.get(reverse("sales:order_list")).content.decode()
    # The calendar of the appointment's own week (an hour from now is next week late on a Sunday evening).
    day = timezone.localtime(rows["appointment"].start_at, world_a.tenant.tzinfo).date()
    assert "MARKA appointment" in c.get(reverse("sales:calendar"), {"date": day.isoformat()}).content.decode()
    assert (
        "MARKA appointment"
        in c.get(reverse("sales:appointment_detail", args=[rows["appointment"].pk])).content.decode()
    )
