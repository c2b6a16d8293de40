"""rows_insert: many new rows in one INSERT … SELECT FROM unnest(…), with the fields left out at their defaults, the
auto_now ones at the current time, JSON and NULLs as given, and the primary keys drawn in the rows' order."""

import datetime as dt

import pytest

from crm.database.bulk import rows_insert
from crm.models import AuditEvent
from customers.models import Contact, Customer
from customers.services.tenant import default_pool, tenant_defaults


@pytest.mark.django_db
def test_rows_insert_writes_every_row_in_one_statement(world_a, django_assert_num_queries):
    tenant_defaults(tenant=world_a.tenant)
    pool = default_pool(world_a.tenant)
    names = ["杭州云帆科技", 'it\'s "quoted"; DROP TABLE x', "第三"]
    rows = [
        {
            "tenant_id": world_a.tenant.pk,
            "name": name,
            "name_pinyin": "",
            "name_initials": "",
            "owner_id": world_a.rep1.pk if i == 0 else None,
            "pool_id": pool.pk,
            "custom": {"contract_no": f"HT-{i}"} if i else {},
        }
        for i, name in enumerate(names)
    ]
    with django_assert_num_queries(2):  # the ids, then the rows
        ids = rows_insert(Customer, rows, ids=True)
    assert len(ids) == 3 and ids == sorted(ids)
    got = {c.pk: c for c in Customer.objects.filter(pk__in=ids)}
    assert [got[pk].name for pk in ids] == names
    first, second = got[ids[0]], got[ids[1]]
    assert first.owner == world_a.rep1 and second.owner is None
    assert first.custom == {} and second.custom == {"contract_no": "HT-1"}
    # Defaults: the model's (status, kind, key account), and the time for auto_now fields.
    assert first.status == Customer.Status.POTENTIAL and first.kind == Customer.Kind.COMPANY
    assert first.is_key_account is False and first.deleted_at is None
    assert first.updated_at is not None and first.created_at is not None

    with django_assert_num_queries(1):
        assert (
            rows_insert(
                Contact,
                [
                    {"tenant_id": world_a.tenant.pk, "customer_id": pk, "name": "联系人", "birthday": day}
                    for pk, day in zip(ids, [dt.date(1990, 5, 31), None, dt.date(2000, 2, 29)], strict=True)
                ],
            )
            == []
        )
    assert {c.customer_id: c.birthday for c in Contact.objects.filter(customer_id__in=ids)} == {
        ids[0]: dt.date(1990, 5, 31),
        ids[1]: None,
        ids[2]: dt.date(2000, 2, 29),
    }
    assert rows_insert(AuditEvent, []) == []
