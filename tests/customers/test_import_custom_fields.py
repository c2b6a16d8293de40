"""Custom fields in the customer and lead imports: a column per field in use, recognised by its label or key,
each cell checked by its field's type with the reason in the preview's cell; the values land on the records."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.api.services.custom_field import custom_field_archive, custom_field_save
from crm.imports.models import ImportJob
from customers.imports.contact import ContactKind
from customers.imports.customer import CustomerKind
from customers.models import Contact, Customer
from customers.services.customer import customer_create
from customers.services.tenant import tenant_defaults
from sales.imports.lead import LeadKind
from sales.models import Lead

DATA = Path("/work/shared/data/import")
CUSTOM_HEADERS = ["合同号", "预算", "签约日期", "渠道", "产品", "vip"]  # the last by the field's key


@pytest.fixture
def world(world_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant_defaults(tenant=world_a.tenant)
    for user in (world_a.admin, world_a.rep1):
        user.language = "en"
        user.save(update_fields=["language"])
    return world_a


def define(world, kind):
    admin = world.admin
    fields = [
        custom_field_save(acting_user=admin, kind=kind, key="contract_no", label="合同号", type="text", required=True),
        custom_field_save(acting_user=admin, kind=kind, key="budget", label="预算", type="money"),
        custom_field_save(acting_user=admin, kind=kind, key="signed_on", label="签约日期", type="date"),
        custom_field_save(
            acting_user=admin, kind=kind, key="channel", label="渠道", type="choice", choices=["直销", "代理"]
        ),
        custom_field_save(
            acting_user=admin, kind=kind, key="products", label="产品", type="multi", choices=["CRM", "ERP", "OA"]
        ),
        custom_field_save(acting_user=admin, kind=kind, key="vip", label="重点客户", type="boolean"),
    ]
    old = custom_field_save(acting_user=admin, kind=kind, key="old_code", label="旧编码", type="text")
    custom_field_archive(acting_user=admin, field=old)
    return fields


def shared_rows(count: int) -> tuple[list[str], list[list[str]]]:
    """The header and the first `count` rows the shared sample file says are valid."""
    expected = dict(csv.reader((DATA / "expected.csv").read_text(encoding="utf-8").splitlines()[1:]))
    with open(DATA / "customers-utf8-bom.csv", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [row for line, row in enumerate(reader, start=2) if expected.get(str(line)) == "valid"]
    return header, rows[:count]


# The custom cells of the rows, in file order: the first three good, then one bad cell per row.
CUSTOM_CELLS = [
    ["HT-2026-001", "12,000.5", "2026-03-01", "直销", "CRM、ERP", "是"],
    ["HT-2026-002", "", "2026/3/2", "代理", "OA", "no"],
    ["HT-2026-003", "80000", "", "", "", ""],
    ["HT-2026-004", "很多", "", "", "", ""],  # money
    ["HT-2026-005", "", "2026-02-30", "", "", ""],  # date
    ["HT-2026-006", "", "", "电话", "", ""],  # choice
    ["HT-2026-007", "", "", "", "CRM,SAP", ""],  # multi-choice
    ["HT-2026-008", "", "", "", "", "也许"],  # boolean
    ["", "100", "", "", "", ""],  # required
]


def file_bytes(header, rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*header, *CUSTOM_HEADERS, "旧编码"])
    for base, custom in zip(rows, CUSTOM_CELLS, strict=True):
        writer.writerow([*base, *custom, "X-1"])
    return buffer.getvalue().encode("utf-8-sig")


def upload_map_preview(client, url, kind, tenant_id, data, **extra) -> ImportJob:
    response = client.post(url, {"file": SimpleUploadedFile("导入.csv", data), **extra})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.latest("pk")
    mapping_page = client.get(reverse("imports:mapping", args=[job.pk])).content.decode()
    assert 'name="custom_budget"' in mapping_page and 'name="custom_old_code"' not in mapping_page
    targets = kind.targets_for(tenant_id)
    assert {"custom_contract_no", "custom_budget", "custom_vip"} <= set(job.mapping)  # by label, and by key
    assert "custom_old_code" not in job.mapping  # an archived field is no column
    posted = {t.key: str(job.mapping[t.key]) if t.key in job.mapping else "" for t in targets}
    response = client.post(reverse("imports:mapping", args=[job.pk]), posted)
    assert response.status_code == 302, response.content.decode()[:2000]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEWED
    return job


BAD_CELL_REASONS = [
    "预算: Enter a number.",
    "签约日期: Enter a date such as 2026-01-31.",
    "渠道: Choose one of the listed values.",
    "产品: Choose among the listed values.",
    "重点客户: Answer yes or no.",
    "合同号: This field is required.",
]


def assert_preview(client, job):
    html = client.get(reverse("imports:preview", args=[job.pk])).content.decode()
    for reason in BAD_CELL_REASONS:
        assert f'<div class="text-danger small" data-testid="cell-error">{reason}</div>' in html, reason
    assert job.summary["valid"] == 3 and job.summary["invalid"] == 6


@pytest.mark.django_db
def test_customer_import_reads_checks_and_saves_custom_fields(world, client_for):
    define(world, "customer")
    header, rows = shared_rows(len(CUSTOM_CELLS))
    client = client_for(world.admin)
    upload_page = client.get(reverse("customers:import")).content.decode()
    assert "<strong>预算</strong>: 预算, budget" in upload_page and "旧编码" not in upload_page
    job = upload_map_preview(
        client,
        reverse("customers:import"),
        CustomerKind,
        world.tenant.pk,
        file_bytes(header, rows),
        target=str(world.rep1.pk),
    )
    assert_preview(client, job)
    response = client.post(reverse("imports:commit", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.created_count, job.rejected_count) == (3, 6)
    imported = {c.name: c.custom for c in Customer.objects.filter(tenant=world.tenant)}
    assert list(imported.values()) and len(imported) == 3
    assert imported[rows[0][0]] == {
        "contract_no": "HT-2026-001",
        "budget": "12000.50",
        "signed_on": "2026-03-01",
        "channel": "直销",
        "products": ["CRM", "ERP"],
        "vip": True,
    }
    assert imported[rows[1][0]] == {
        "contract_no": "HT-2026-002",
        "signed_on": "2026-03-02",
        "channel": "代理",
        "products": ["OA"],
        "vip": False,
    }
    assert imported[rows[2][0]] == {"contract_no": "HT-2026-003", "budget": "80000.00"}


@pytest.mark.django_db
def test_a_required_custom_field_needs_a_column(world, client_for):
    define(world, "customer")
    header, rows = shared_rows(2)
    client = client_for(world.admin)
    data = io.StringIO()
    csv.writer(data).writerows([header, *rows])
    response = client.post(reverse("customers:import"), {"file": SimpleUploadedFile("a.csv", data.getvalue().encode())})
    job = ImportJob.objects.latest("pk")
    assert response.status_code == 302 and "custom_contract_no" not in job.mapping
    posted = {
        t.key: str(job.mapping[t.key]) if t.key in job.mapping else ""
        for t in CustomerKind.targets_for(world.tenant.pk)
    }
    refused = client.post(reverse("imports:mapping", args=[job.pk]), posted)
    assert refused.status_code == 422 or refused.status_code == 200
    assert "Choose the column that holds “合同号”." in refused.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


@pytest.mark.django_db
def test_lead_import_reads_checks_and_saves_custom_fields(world, client_for):
    define(world, "lead")
    header, rows = shared_rows(len(CUSTOM_CELLS))
    client = client_for(world.rep1)
    job = upload_map_preview(client, reverse("sales:lead_import"), LeadKind, world.tenant.pk, file_bytes(header, rows))
    assert_preview(client, job)
    client.post(reverse("imports:commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.created_count == 3
    leads = sorted(Lead.objects.filter(tenant=world.tenant), key=lambda lead: lead.custom["contract_no"])
    assert [lead.custom for lead in leads][2] == {"contract_no": "HT-2026-003", "budget": "80000.00"}
    assert leads[0].custom["products"] == ["CRM", "ERP"] and leads[0].custom["vip"] is True


@pytest.mark.django_db
def test_contact_import_reads_checks_and_saves_custom_fields(world, client_for):
    custom_field_save(
        acting_user=world.admin, kind="contact", key="hobby", label="爱好", type="multi", choices=["茶", "高尔夫"]
    )
    custom_field_save(acting_user=world.admin, kind="contact", key="met_on", label="结识日期", type="date")
    customer = customer_create(acting_user=world.rep1, data={"name": "杭州云帆科技有限公司"})
    rows = [
        ["杭州云帆科技有限公司", "赵六", "13700000001", "茶，高尔夫", "2025年5月1日"],
        ["杭州云帆科技有限公司", "钱七", "13700000002", "桥牌", ""],
        ["杭州云帆科技有限公司", "孙八", "13700000003", "", "明天"],
    ]
    data = io.StringIO()
    csv.writer(data).writerows([["客户名称", "联系人", "手机", "爱好", "met_on"], *rows])
    client = client_for(world.rep1)
    response = client.post(
        reverse("customers:contact_import"), {"file": SimpleUploadedFile("c.csv", data.getvalue().encode("utf-8-sig"))}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.latest("pk")
    assert {"custom_hobby", "custom_met_on"} <= set(job.mapping)
    posted = {
        t.key: str(job.mapping[t.key]) if t.key in job.mapping else "" for t in ContactKind.targets_for(world.tenant.pk)
    }
    assert client.post(reverse("imports:mapping", args=[job.pk]), posted).status_code == 302
    html = client.get(reverse("imports:preview", args=[job.pk])).content.decode()
    assert "爱好: Choose among the listed values." in html and "结识日期: Enter a date such as 2026-01-31." in html
    client.post(reverse("imports:commit", args=[job.pk]))
    job.refresh_from_db()
    assert (job.created_count, job.rejected_count) == (1, 2)
    assert Contact.objects.get(customer=customer, name="赵六").custom == {
        "hobby": ["茶", "高尔夫"],
        "met_on": "2025-05-01",
    }
