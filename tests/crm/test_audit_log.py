"""Settings → Audit log: sentences in the reader's language, linked objects, filters, the CSV export, a bulk
action or an import as one event, admins of the tenant only."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import AuditEvent
from crm.services.audit import audit
from customers.services.transfer import customer_transfer
from tests.sales.helpers import make_customer


@pytest.fixture(autouse=True)
def admin_reads_english(world_a):
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])


def _transfer(world, names=("云帆科技", "星河贸易")):
    customers = [make_customer(world.rep1, name) for name in names]
    customer_transfer(acting_user=world.manager, customers=customers, to_owner=world.rep2, reason="人员调整")
    return customers


def _import(world, count):
    """An import's one event and its per-object rows, as the import machine writes them."""
    job_id = 4242
    job_event = AuditEvent.objects.create(
        tenant=world.tenant,
        actor=world.admin,
        action="customer.import",
        object_type="imports.importjob",
        object_id=str(job_id),
        object_repr="客户.xlsx",
        details={"file": "客户.xlsx", "rows": count, "created": count, "duplicates": 0, "rejected": 0},
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(
            tenant=world.tenant,
            actor=world.admin,
            action="customer.create",
            object_type="customers.customer",
            object_id=str(100000 + i),
            object_repr=f"导入客户{i}",
            details={"import": job_id, "row": i + 2},
        )
        for i in range(count)
    )
    return job_event


@pytest.mark.django_db
def test_bulk_transfer_is_one_sentence_in_the_readers_language(world_a, client_for):
    customers = _transfer(world_a)
    c = client_for(world_a.admin)
    r = c.get(reverse("settings:audit"), {"action": "customer.transfer"})
    assert r.status_code == 200
    body = r.content.decode()
    assert body.count('data-testid="audit-event"') == 1
    assert "A 经理 transferred 2 customers to A 销售二: 人员调整" in body
    event = AuditEvent.objects.get(action="customer.transfer")
    # Expanded, the event lists both customers with links to them.
    items = c.get(reverse("settings:audit_items", args=[event.pk])).content.decode()
    for customer in customers:
        assert reverse("customers:detail", args=[customer.pk]) in items and customer.name in items

    world_a.admin.language = "zh-hans"
    world_a.admin.save(update_fields=["language"])
    body = c.get(reverse("settings:audit"), {"action": "customer.transfer"}).content.decode()
    assert "A 经理 转移了 2 个客户给 A 销售二：人员调整" in body


@pytest.mark.django_db
def test_an_object_is_linked_and_names_are_escaped(world_a, client_for):
    customer = make_customer(world_a.rep1, "<b>云帆</b>")
    body = client_for(world_a.admin).get(reverse("settings:audit"), {"action": "customer.create"}).content.decode()
    assert f'<a href="{reverse("customers:detail", args=[customer.pk])}">&lt;b&gt;云帆&lt;/b&gt;</a>' in body
    assert "A 销售一 created the customer" in body


@pytest.mark.django_db
def test_an_import_is_one_event_with_its_count(world_a, client_for):
    event = _import(world_a, 517)
    c = client_for(world_a.admin)
    body = c.get(reverse("settings:audit")).content.decode()
    assert body.count('data-testid="audit-event"') == 1
    assert (
        f'A 管理员 imported 517 customers from <a href="{reverse("imports:detail", args=[4242])}">客户.xlsx</a>' in body
    )
    assert "Show the 517 objects" in body
    # Expanded, it lists the first rows, linked, and says how many more there are.
    items = c.get(reverse("settings:audit_items", args=[event.pk])).content.decode()
    assert items.count("<li") == 201 and "and 317 more" in items
    assert f'<a href="{reverse("customers:detail", args=[100000])}">导入客户0</a>' in items


@pytest.mark.django_db
def test_filters_by_actor_kind_action_and_local_dates(world_a, client_for):
    _transfer(world_a)
    audit(tenant=world_a.tenant, actor=world_a.admin, action="team.update", obj=world_a.team1)
    c = client_for(world_a.admin)

    def actions(**params):
        body = c.get(reverse("settings:audit"), params).content.decode()
        return body.count('data-action="customer.transfer"'), body.count('data-action="team.update"')

    assert actions(actor=world_a.manager.pk) == (1, 0)
    assert actions(kind="team") == (0, 1)
    assert actions(action="customer.transfer") == (1, 0)
    today = timezone.localdate(timezone.now(), world_a.tenant.tzinfo)
    assert actions(date_from=today.isoformat(), date_to=today.isoformat()) == (1, 1)
    assert actions(date_to=(today - timedelta(days=1)).isoformat()) == (0, 0)
    # A value that does not parse is ignored, never a 500.
    assert c.get(reverse("settings:audit"), {"date_from": "9999-99-99", "kind": "nope"}).status_code == 200


@pytest.mark.django_db
def test_export_is_the_filtered_log_with_safe_cells(world_a, client_for):
    make_customer(world_a.rep1, "=HYPERLINK(1)")
    _transfer(world_a)
    r = client_for(world_a.admin).get(reverse("settings:audit_export"), {"action": "customer.create"})
    assert r.status_code == 200 and r["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["When", "Who", "Action", "What happened"]
    assert len(rows) == 4  # header + three customers created
    assert any(row[4] == "'=HYPERLINK(1)" for row in rows[1:])
    assert "A 销售一 created the customer =HYPERLINK(1)" in [row[3] for row in rows[1:]]


@pytest.mark.django_db
def test_list_queries_stay_bounded(world_a, client_for, django_assert_max_num_queries):
    for i in range(3):
        _transfer(world_a, names=(f"甲{i}", f"乙{i}"))
    _import(world_a, 30)
    c = client_for(world_a.admin)
    c.get(reverse("settings:audit"))
    with django_assert_max_num_queries(12):
        r = c.get(reverse("settings:audit"))
    assert r.content.decode().count('data-testid="audit-event"') >= 10


@pytest.mark.django_db
def test_another_tenants_event_is_404_and_never_listed(world_a, world_b, client_for):
    _transfer(world_b)
    foreign = AuditEvent.objects.get(tenant=world_b.tenant, action="customer.transfer")
    c = client_for(world_a.admin)
    assert c.get(reverse("settings:audit_items", args=[foreign.pk])).status_code == 404
    assert "B 经理" not in c.get(reverse("settings:audit")).content.decode()
    export = c.get(reverse("settings:audit_export")).content.decode("utf-8-sig")
    assert "B 经理" not in export
    # Another tenant's user as the actor filter is refused, not applied.
    r = c.get(reverse("settings:audit"), {"actor": world_b.manager.pk})
    assert r.status_code == 200 and "B 经理" not in r.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["settings:audit", "settings:audit_export"])
def test_only_admins(world_a, client_for, name):
    for user in (world_a.manager, world_a.rep1, world_a.agent):
        assert client_for(user).get(reverse(name)).status_code == 403


@pytest.mark.django_db
def test_only_admins_expand_an_event(world_a, client_for):
    _transfer(world_a)
    event = AuditEvent.objects.get(action="customer.transfer")
    for user in (world_a.manager, world_a.rep1):
        assert client_for(user).get(reverse("settings:audit_items", args=[event.pk])).status_code == 403
