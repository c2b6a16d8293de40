"""The holdings cap (the tenant's max_customers_per_rep) holds on every path that gives a rep customers: create,
import (the preview says how many rows it will refuse and why), lead conversion, claim, assign, transfer, restore
from the recycle bin and the assignment rules; a merge never adds to anyone's holdings. One check refuses them all."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.imports.models import ImportJob
from customers.models import Customer
from customers.services.customer import customer_create
from customers.services.holdings import HoldingsCapReached, fits, holdings_check, holdings_of, room_left
from customers.services.merge import customer_merge
from customers.services.pool import ClaimRefused, customer_assign, customer_claim
from customers.services.tenant import default_pool
from customers.services.transfer import customer_transfer
from customers.services.trash import customer_restore, customer_trash
from sales.services.conversion import lead_convert

from ..sales.funnel import qualified_lead
from .test_import import csv_bytes, row, setup_world, upload_and_preview
from .test_pool import pool_for, pooled

pytestmark = pytest.mark.django_db


def held(user) -> int:
    return Customer.objects.filter(owner=user, deleted_at__isnull=True).count()


def cap(world, n):
    world.tenant.max_customers_per_rep = n
    world.tenant.save(update_fields=["max_customers_per_rep"])
    for user in (world.admin, world.manager, world.rep1, world.rep2):
        user.refresh_from_db()


def own(world, rep, n, prefix="持有"):
    return [customer_create(acting_user=rep, data={"name": f"{prefix}{rep.pk}-{i}"}) for i in range(n)]


def test_the_rule():
    class T:
        max_customers_per_rep = 3

    assert fits(T, 2) and not fits(T, 3) and fits(T, 1, 2) and not fits(T, 1, 3)
    assert room_left(T, 5) == 0 and room_left(T, 1) == 2
    T.max_customers_per_rep = None
    assert fits(T, 10**6, 10**6) and room_left(T, 10**6) is None


def test_create_is_refused_at_the_cap(world_a):
    own(world_a, world_a.rep1, 2)
    cap(world_a, 2)
    with pytest.raises(HoldingsCapReached, match="most one rep may hold"):
        customer_create(acting_user=world_a.rep1, data={"name": "第三个"})
    with pytest.raises(HoldingsCapReached):
        customer_create(acting_user=world_a.manager, data={"name": "替他建"}, owner=world_a.rep1)
    assert held(world_a.rep1) == 2 and not Customer.objects.filter(name__in=["第三个", "替他建"]).exists()
    customer_create(
        acting_user=world_a.manager, data={"name": "进公海"}, owner=None, to_pool=default_pool(world_a.tenant)
    )


def test_lead_conversion_is_refused_at_the_cap(world_a):
    own(world_a, world_a.rep1, 1)
    cap(world_a, 1)
    lead = qualified_lead(world_a.rep1, "林经理", company="无锡林氏机械有限公司", phone="13711112222")
    with pytest.raises(HoldingsCapReached):
        lead_convert(acting_user=world_a.rep1, lead=lead)
    lead.refresh_from_db()
    assert lead.status == "qualified" and lead.customer_id is None and held(world_a.rep1) == 1


def test_claim_and_assign_are_refused_at_the_cap(world_a):
    pool_for(world_a)
    customers = pooled(world_a, "公海客户", 3)
    own(world_a, world_a.rep1, 1)
    cap(world_a, 2)
    customer_claim(rep=world_a.rep1, customer_id=customers[0].pk)
    with pytest.raises(ClaimRefused, match="most one rep may hold"):
        customer_claim(rep=world_a.rep1, customer_id=customers[1].pk)
    with pytest.raises(HoldingsCapReached):
        customer_assign(acting_user=world_a.manager, customer_ids=[customers[1].pk], rep=world_a.rep1)
    assert held(world_a.rep1) == 2


def test_transfer_is_refused_past_the_cap(world_a):
    mine = own(world_a, world_a.rep2, 3, "转移")
    own(world_a, world_a.rep1, 1)
    cap(world_a, 3)
    with pytest.raises(HoldingsCapReached, match="would hold more than 3"):
        customer_transfer(acting_user=world_a.manager, customers=mine, to_owner=world_a.rep1, reason="调岗")
    assert held(world_a.rep1) == 1 and held(world_a.rep2) == 3
    assert customer_transfer(acting_user=world_a.manager, customers=mine[:2], to_owner=world_a.rep1, reason="调岗") == 2


def test_restore_from_the_bin_is_refused_at_the_cap(world_a):
    (binned,) = own(world_a, world_a.rep1, 1, "回收")
    customer_trash(acting_user=world_a.rep1, customer=binned)
    own(world_a, world_a.rep1, 2)
    cap(world_a, 2)
    with pytest.raises(HoldingsCapReached):
        customer_restore(acting_user=world_a.manager, customer=binned)
    binned.refresh_from_db()
    assert binned.deleted_at is not None and held(world_a.rep1) == 2


def test_merge_never_adds_to_holdings(world_a):
    keep, merge = own(world_a, world_a.rep1, 1, "保留")[0], own(world_a, world_a.rep2, 1, "并入")[0]
    cap(world_a, 1)
    customer_merge(acting_user=world_a.manager, keep=keep, merge=merge)
    assert (held(world_a.rep1), held(world_a.rep2)) == (1, 0)


def test_the_check_counts_what_is_added(world_a):
    own(world_a, world_a.rep1, 1)
    cap(world_a, 3)
    holdings_check(rep=world_a.rep1, adding=2)
    with pytest.raises(HoldingsCapReached) as refused:
        holdings_check(rep=world_a.rep1, adding=3, field="rep")
    assert refused.value.field == "rep"
    assert holdings_of(world_a.tenant.pk, [world_a.rep1.pk, world_a.rep2.pk]) == {world_a.rep1.pk: 1}


# --- the import ------------------------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_import_preview_says_how_many_rows_the_cap_refuses_and_the_commit_refuses_them(world_a, client_for, media):
    setup_world(world_a)
    own(world_a, world_a.rep1, 3)
    cap(world_a, 5)
    rows = [row(f"导入公司{i}有限公司", "A", f"1380000{i:04d}") for i in range(6)]
    client = client_for(world_a.rep1)
    job = upload_and_preview(client, "客户.csv", csv_bytes(rows))
    assert (job.summary["valid"], job.summary["invalid"]) == (2, 4)
    assert job.summary["invalid_by_field"] == {"owner": 4}
    (notice,) = job.summary["notices"]
    assert "4 rows will be refused" in notice and "holds 3 customers" in notice and "only 2 more fit" in notice
    page = client.get(reverse("imports:preview", args=[job.pk])).content.decode()
    assert 'data-testid="import-notice"' in page and "Over the holdings cap" in page
    client.post(reverse("imports:commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and (job.created_count, job.rejected_count) == (2, 4)
    assert held(world_a.rep1) == 5


def test_import_for_a_rep_at_the_cap_creates_nothing(world_a, client_for, media):
    setup_world(world_a)
    own(world_a, world_a.rep2, 2)
    cap(world_a, 2)
    client = client_for(world_a.manager)
    rows = [row(f"满额公司{i}有限公司", "A", f"1390000{i:04d}") for i in range(3)]
    job = upload_and_preview(client, "客户.csv", csv_bytes(rows), target=str(world_a.rep2.pk))
    assert job.summary["valid"] == 0 and job.summary["invalid_by_field"] == {"owner": 3}
    client.post(reverse("imports:commit", args=[job.pk]))
    assert held(world_a.rep2) == 2
    # Into the pool nothing counts against anyone's cap.
    job = upload_and_preview(client, "客户.csv", csv_bytes(rows), target="pool")
    assert job.summary["valid"] == 3 and "notices" not in job.summary


# --- the pickers -------------------------------------------------------------------------------------------------------


def test_the_assign_and_transfer_pickers_show_holdings_against_the_cap(
    world_a, client_for, django_assert_max_num_queries
):
    pool_for(world_a)
    (waiting,) = pooled(world_a, "待分配")
    own(world_a, world_a.rep1, 2)
    cap(world_a, 2)
    world_a.manager.language = "en"
    world_a.manager.save(update_fields=["language"])
    c = client_for(world_a.manager)
    with django_assert_max_num_queries(12):
        body = c.post(reverse("pool:assign"), {"selected": [waiting.pk]}).content.decode()
    assert f"{world_a.rep1.full_name} — holds 2 of 2 (full)" in body
    mine = own(world_a, world_a.rep2, 1, "转")
    body = c.get(reverse("customers:transfer"), {"ids": mine[0].pk}).content.decode()
    assert f"{world_a.rep2.full_name} — holds 1 of 2" in body
    # The lists offer select-all for their bulk actions.
    assert 'data-select-all="selected"' in c.get(reverse("pool:list")).content.decode()
    assert 'data-select-all="selected"' in c.get(reverse("customers:list")).content.decode()
