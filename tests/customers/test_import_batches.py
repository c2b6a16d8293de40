"""The customer import at scale: a constant number of statements per batch of rows, whatever is in the batch
(duplicates of customers held by others, of earlier rows, invalid rows), and pinyin forms the same as pypinyin's
for the whole name."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypinyin import Style, lazy_pinyin

from crm.imports import services
from crm.imports.models import ImportJob
from customers.imports.customer import POOL, CustomerKind
from customers.models import Customer, CustomerIdentifier
from customers.normalize import _NON_WORD, nfkc, pinyin_forms
from customers.services.customer import customer_create
from customers.services.tenant import tenant_defaults

pytestmark = pytest.mark.django_db

HEADERS = ["客户名称", "客户级别", "联系人", "手机", "邮箱"]
CITIES = ["杭州", "重庆", "长沙", "银川", "厦门"]


def csv_file(count: int, offset: int = 0) -> bytes:
    """Rows of every kind in each batch of 10: valid ones, an invalid phone, a company held by another rep, the
    same company as an earlier row in another spelling."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for n in range(offset, offset + count):
        name = f"{CITIES[n % 5]}第{n}号科技有限公司"
        mobile = f"138-{n:04d}-{n:04d}"
        if n % 10 == 3:
            mobile = "12345"
        elif n % 10 == 5:
            name = f"已有客户{n // 10}有限公司"
        elif n % 10 == 7:
            name = f"{CITIES[(n - 1) % 5]}第{n - 1}号科技 "
        writer.writerow([name, "A" if n % 2 else "重点客户", f"联系人{n}", mobile, f"u{n}@example.com"])
    return out.getvalue().encode("utf-8-sig")


def commit_queries(world, count: int, offset: int = 0) -> tuple[ImportJob, int]:
    job = services.import_upload(
        acting_user=world.admin,
        kind=CustomerKind,
        uploaded=SimpleUploadedFile(f"c{count}.csv", csv_file(count, offset)),
        destination=POOL,
    )
    job = services.import_map(acting_user=world.admin, job=job, columns=job.mapping)
    assert job.status == ImportJob.Status.PREVIEWED
    with CaptureQueriesContext(connection) as captured:
        job = services.import_start(acting_user=world.admin, job=job)
    assert job.status == ImportJob.Status.DONE, job.error
    return job, len(captured)


@pytest.fixture
def world(world_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant_defaults(tenant=world_a.tenant)
    for n in range(60):
        # Customers another rep holds, whose names the files repeat (row 5 of every ten).
        customer_create(acting_user=world_a.rep2, data={"name": f"已有客户{n}有限公司"})
    return world_a


def test_the_commit_runs_a_constant_number_of_statements_per_batch(world, monkeypatch):
    monkeypatch.setattr(services, "BATCH_SIZE", 20)
    small, small_queries = commit_queries(world, 40)  # 2 batches
    large, large_queries = commit_queries(world, 200, offset=40)  # 10 batches
    # Of every ten rows: seven created, one invalid phone, one held by rep2, one repeating an earlier row.
    assert (small.created_count, small.rejected_count) == (28, 12)
    assert (large.created_count, large.rejected_count) == (140, 60)
    # Eight batches more cost at most a dozen statements each, whatever their rows hold.
    assert large_queries - small_queries <= 8 * 12, (small_queries, large_queries)
    # Every created customer has its pinyin, its contact and its identifiers, as customer_create writes them.
    created = Customer.objects.filter(tenant=world.tenant, name__startswith="重庆第1号")
    assert [(c.name_pinyin, c.name_initials) for c in created] == [pinyin_forms("重庆第1号科技有限公司")]
    assert CustomerIdentifier.objects.filter(customer__in=created, kind="phone", value="+8613800010001").exists()


def test_a_rerun_of_the_commit_imports_nothing_twice(world):
    job, _queries = commit_queries(world, 30)
    before = Customer.objects.filter(tenant=world.tenant).count()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)  # a redelivered task, say
    assert services.import_claim(job_id=job.pk)
    services.import_execute(job_id=job.pk)
    job.refresh_from_db()
    # Every row now meets its own customer: rejected as duplicates, nothing created twice.
    assert Customer.objects.filter(tenant=world.tenant).count() == before
    assert job.created_count == 0 and job.rejected_count == 30


@pytest.mark.parametrize(
    "name",
    [
        "重庆银行股份有限公司",
        "长沙行业协会 Co., Ltd.",
        "ABC科技（中国）有限公司",
        "单于长孙",
        "朝阳重庆长沙银行行长",
        "x-y_z 张三!!",
        "",
    ],
)
def test_pinyin_forms_are_those_of_the_whole_name(name):
    text = nfkc(name)
    full = _NON_WORD.sub("", "".join(s for s in lazy_pinyin(text, errors=list) if s.strip()).lower())
    initials = "".join(s[0] for s in lazy_pinyin(text, style=Style.FIRST_LETTER, errors=list) if s.strip())
    assert pinyin_forms(name) == (full, _NON_WORD.sub("", initials.lower()))
