"""The customer export reads in keyset batches: memory does not grow with the rows, every sort keeps its order,
each batch is one bounded query, and masking and neutralising still apply."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import exports
from crm.selectors.keyset import keyset_batches
from customers.exports.customer import CustomerExport
from customers.filters import SORTS
from customers.models import Contact, Customer
from customers.services.customer import customer_create

BATCH = 50


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", BATCH)


def add_customers(world, count: int, start: int = 0) -> None:
    """`count` customers of rep1 with a primary contact, in two statements (a formula-like name every tenth)."""
    template = customer_create(acting_user=world.rep1, data={"name": f"模板{start}"}, contact=None)
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        Customer(
            tenant=world.tenant,
            pool=template.pool,
            owner=world.rep1,
            name=f'=HYPERLINK("x")客户{start + i}' if i % 10 == 0 else f"客户{start + i:05d}",
            # Ties and NULLs on the follow-up sort, so the batches' boundaries fall inside groups of equal keys.
            last_followed_up_at=None if i % 3 == 0 else now - timedelta(days=i % 7),
            created_at=now - timedelta(minutes=i % 5),
        )
        for i in range(count)
    )
    Contact.objects.bulk_create(
        Contact(
            tenant=world.tenant,
            customer=c,
            name="联系人",
            is_primary=True,
            mobile=f"+86138{i:08d}",
            email=f"c{i}@example.com",
        )
        for i, c in enumerate(customers, start=start)
    )


def export_csv(user) -> tuple[list[list[str]], int]:
    """The CSV rows of the whole export as `user`, and the peak of Python memory while it was made."""
    queryset = CustomerExport.filtered(user=user, params=QueryDict())
    tracemalloc.start()
    try:
        size = 0
        lines = []
        writer = CustomerExport(tenant_id=user.tenant_id, viewer_id=user.pk, tz=user.tenant.tzinfo)
        for chunk in exports.csv_chunks(writer, queryset):
            size += len(chunk)
            if len(lines) < 30:
                lines.append(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return list(csv.reader(io.StringIO("".join(lines).lstrip("\ufeff")))), peak


@pytest.mark.django_db
def test_memory_is_flat_from_n_to_4n_rows(world_a, small_batches):
    add_customers(world_a, 200)
    export_csv(world_a.manager)  # warm-up: translations, the filter form, the query compiler's caches
    _, peak_n = export_csv(world_a.manager)
    add_customers(world_a, 600, start=200)
    with CaptureQueriesContext(connection) as queries:
        rows, peak_4n = export_csv(world_a.manager)
    # 800 rows plus the two templates: one query a batch of 50 (17 batches, the last one short).
    batches = [q["sql"] for q in queries.captured_queries if "LIMIT" in q["sql"] and "customers_customer" in q["sql"]]
    assert len(batches) == 17 and all(f"LIMIT {BATCH}" in sql for sql in batches)
    assert peak_4n < peak_n * 1.25 + 64 * 1024, (peak_n, peak_4n)

    # Masked for the manager, who owns none of them; formulas neutralised.
    header = rows[0]
    mobile, email = header.index("Mobile"), header.index("Email")
    sample = [row for row in rows[1:] if row[mobile]]
    assert sample and all("****" in row[mobile] and "***@example.com" in row[email] for row in sample)
    assert any(row[0].startswith("'=HYPERLINK") for row in rows[1:])
    assert not any(row[0].startswith("=") for row in rows[1:])


@pytest.mark.django_db
@pytest.mark.parametrize("sort", [*SORTS, "fallback"])
def test_batches_keep_every_sort_of_the_list(world_a, sort):
    add_customers(world_a, 60)
    queryset = CustomerExport.filtered(user=world_a.admin, params=QueryDict(f"sort={sort}"))
    expected = list(queryset.values_list("pk", flat=True))
    batched = [row["pk"] for batch in keyset_batches(queryset.values("pk"), size=7) for row in batch]
    assert batched == expected and len(expected) == 61
