"""rows_update: many rows' fields in one UPDATE … FROM (VALUES …), as bulk_update writes them (values, NULLs, times,
foreign keys), and only the rows given."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.database.bulk import rows_update
from crm.models import Notification


@pytest.mark.django_db
def test_rows_update_writes_each_rows_values_in_one_statement(world_a, django_assert_num_queries):
    rows = [Notification.objects.create(tenant=world_a.tenant, recipient=world_a.rep1, title=f"n{i}") for i in range(3)]
    other = Notification.objects.create(tenant=world_a.tenant, recipient=world_a.rep1, title="untouched")
    at = timezone.now() - timedelta(days=1)
    rows[0].title, rows[0].read_at, rows[0].recipient = "第一条", at, world_a.rep2
    rows[1].title, rows[1].read_at = 'it\'s "quoted"; DROP TABLE x', None
    rows[2].title, rows[2].read_at = "", at + timedelta(hours=1)
    with django_assert_num_queries(1):
        assert rows_update(Notification, rows, ["title", "read_at", "recipient"]) == 3
    got = {n.pk: (n.title, n.read_at, n.recipient_id) for n in Notification.objects.all()}
    assert got[rows[0].pk] == ("第一条", at, world_a.rep2.pk)
    assert got[rows[1].pk] == ('it\'s "quoted"; DROP TABLE x', None, world_a.rep1.pk)
    assert got[rows[2].pk] == ("", at + timedelta(hours=1), world_a.rep1.pk)
    assert got[other.pk] == ("untouched", None, world_a.rep1.pk)
    assert rows_update(Notification, [], ["title"]) == 0
