"""Exports of the lead and the opportunity lists: the list's own filters over what the user may see, role scoping,
masked phones and emails outside one's own records, Excel-safe cells, custom-field columns, audit, and a number of
queries that does not grow with the rows."""

import csv
import io
import itertools
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.api.services.custom_field import custom_field_save
from crm.models import AuditEvent
from crm.tenancy import tenant_context
from customers.models import Contact, ExportJob
from customers.services.customer import customer_create
from customers.services.export import export_run
from sales.models import Lead, Opportunity
from sales.services.lead import lead_create
from sales.services.opportunity import opportunity_create
from sales.services.pipeline import ensure_default_pipeline

LEADS = reverse("sales:lead_export")
OPPORTUNITIES = reverse("sales:opportunity_export")


def post(client, url, fmt="csv", **params):
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    return client.post(url + query, {"format": fmt})


def read_csv(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def english(user):
    user.language = "en"
    user.save(update_fields=["language"])
    return user


_wechat = itertools.count(1)


def lead(user, name, phone="", **data):
    if not phone and not data.get("email"):
        data.setdefault("wechat", f"wx_lead_{next(_wechat)}")
    return lead_create(acting_user=user, data={"name": name, "phone": phone, **data})


def opportunity(user, name, mobile="13800138000", amount=Decimal("1000")):
    customer = customer_create(
        acting_user=user, data={"name": f"{name}公司"}, contact={"name": f"{name}联系人", "mobile": mobile}
    )
    return opportunity_create(
        acting_user=user,
        customer=customer,
        name=name,
        pipeline=ensure_default_pipeline(user.tenant),
        amount=amount,
        contact=Contact.objects.get(customer=customer),
    )


# --- leads ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reps_and_agents_may_not_export_leads(world_a, client_for):
    lead(world_a.rep1, "王小明")
    for user in (world_a.rep1, world_a.agent):
        c = client_for(user)
        assert c.get(LEADS).status_code == 403 and post(c, LEADS).status_code == 403
    assert 'data-testid="export-links"' not in client_for(world_a.rep1).get(reverse("sales:lead_list")).content.decode()
    assert not AuditEvent.objects.filter(action="lead.export").exists()


@pytest.mark.django_db
def test_lead_export_is_the_managers_list_with_its_filters_masked_and_audited(world_a, world_b, client_for):
    english(world_a.manager)
    lead(world_a.rep1, "一组线索", phone="13812345678", email="a@example.com", source="展会")
    lead(world_a.rep2, "二组线索", source="官网")
    lead(world_a.admin, "管理员线索")  # the admin is in no team: not the manager's
    lead(world_b.rep1, "别家线索", source="展会")
    lead(world_a.manager, "经理线索", phone="13900001111", source="展会")
    c = client_for(world_a.manager)
    assert 'data-testid="export-links"' in c.get(reverse("sales:lead_list")).content.decode()

    rows = read_csv(post(c, LEADS))
    assert {r[0] for r in rows[1:]} == {"一组线索", "二组线索", "经理线索"}
    header = rows[0]
    phone, email = header.index("Phone"), header.index("Email")
    by_name = {r[0]: r for r in rows[1:]}
    # Masked on the rep's lead, as on the list; in full on the manager's own.
    assert by_name["一组线索"][phone] == "138****5678" and "***@example.com" in by_name["一组线索"][email]
    assert by_name["经理线索"][phone] == "'+86 139 0000 1111"

    # The list's filters: "export what I see".
    rows = read_csv(post(c, LEADS, source="展会"))
    assert {r[0] for r in rows[1:]} == {"一组线索", "经理线索"}
    event = AuditEvent.objects.filter(action="lead.export").latest("pk")
    assert event.actor == world_a.manager and event.details["rows"] == 2
    assert event.details["filters"] == {"source": ["展会"]}

    # Another tenant's ids: an owner of tenant B is no valid choice, nothing is exported.
    r = post(c, LEADS, owner=world_b.rep1.pk)
    assert r.status_code == 302 and AuditEvent.objects.filter(action="lead.export").count() == 2


@pytest.mark.django_db
def test_lead_export_cells_are_excel_safe_with_custom_fields(world_a, client_for):
    custom_field_save(acting_user=world_a.admin, kind="lead", key="budget", label="预算", type="text")
    created = lead(world_a.rep1, '=HYPERLINK("http://x")', company="@SUM(1)")
    Lead.objects.filter(pk=created.pk).update(custom={"budget": "-2+3"})
    c = client_for(world_a.admin)
    rows = read_csv(post(c, LEADS))
    assert rows[0][-1] == "预算"
    assert rows[1][0] == '\'=HYPERLINK("http://x")' and rows[1][1] == "'@SUM(1)" and rows[1][-1] == "'-2+3"

    response = post(c, LEADS, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][-1] == "预算" and values[1][0].startswith("'=") and values[1][-1] == "'-2+3"
    assert all(cell.data_type == "s" for cell in next(sheet.iter_rows(min_row=2)) if isinstance(cell.value, str))


@pytest.mark.django_db
def test_lead_export_queries_do_not_grow_with_rows(world_a, client_for):
    c = client_for(world_a.admin)

    def count_queries(n):
        for i in range(n):
            lead(world_a.rep1, f"线索{Lead.objects.count() + i}")
        with CaptureQueriesContext(connection) as ctx:
            rows = read_csv(post(c, LEADS, status="all"))
        return len(ctx.captured_queries), len(rows) - 1

    small, rows_small = count_queries(5)
    large, rows_large = count_queries(45)
    assert (rows_small, rows_large) == (5, 50)
    assert large == small


# --- opportunities -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_opportunity_export_scoped_masked_and_audited(world_a, world_b, client_for):
    english(world_a.manager)
    opportunity(world_a.rep1, "一组商机", mobile="13812345678", amount=Decimal("1234.50"))
    opportunity(world_a.admin, "管理员商机")
    opportunity(world_b.rep1, "别家商机")
    assert client_for(world_a.rep1).get(OPPORTUNITIES).status_code == 403
    c = client_for(world_a.manager)
    assert 'data-testid="export-links"' in c.get(reverse("sales:opportunity_list")).content.decode()
    page = c.get(OPPORTUNITIES)
    assert page.status_code == 200 and page.context["count"] == 1
    rows = read_csv(post(c, OPPORTUNITIES))
    assert [r[0] for r in rows[1:]] == ["一组商机"]
    header = rows[0]
    assert rows[1][header.index("Mobile")] == "138****5678"
    assert rows[1][header.index("Amount")] == "1234.50"
    assert rows[1][header.index("Customer")] == "一组商机公司"
    assert AuditEvent.objects.get(action="opportunity.export").details["rows"] == 1

    # XLSX: the amount a number, the custom field a column.
    custom_field_save(acting_user=world_a.admin, kind="opportunity", key="region", label="大区", type="text")
    Opportunity.objects.filter(name="一组商机").update(custom={"region": "华东"})
    sheet = openpyxl.load_workbook(io.BytesIO(post(c, OPPORTUNITIES, "xlsx").content)).active
    header, first = [[cell.value for cell in row] for row in sheet.iter_rows(max_row=2)]
    assert header[-1] == "大区" and first[-1] == "华东" and float(first[header.index("Amount")]) == 1234.5

    # Another tenant's pipeline id filters nothing in: refused.
    other = ensure_default_pipeline(world_b.tenant)
    assert c.get(OPPORTUNITIES, {"pipeline": other.pk}).context["valid"] is False


@pytest.mark.django_db
def test_a_large_lead_export_is_the_same_job_as_the_customers(world_a, world_b, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_SYNC_LIMIT = 1
    lead(world_a.rep1, "一组线索")
    lead(world_a.rep2, "二组线索")
    c = client_for(world_a.manager)
    r = post(c, LEADS, "xlsx")
    assert r.status_code == 302 and r["Location"] == reverse("customers:exports")
    job = ExportJob.objects.get()
    assert (job.kind, job.format, job.status) == ("lead", "xlsx", ExportJob.Status.QUEUED)
    assert not AuditEvent.objects.filter(action="lead.export").exists()

    done = export_run(job_id=job.pk)
    assert done.status == ExportJob.Status.DONE and done.row_count == 2 and done.file.name.endswith(".xlsx")
    assert export_run(job_id=job.pk) is None  # a second copy of the task finds nothing to do
    assert AuditEvent.objects.get(action="lead.export").details["rows"] == 2
    page = c.get(reverse("customers:exports")).content.decode()
    assert "Leads" in page or "线索" in page
    download = c.get(reverse("customers:export_download", args=[job.pk]))
    assert download.status_code == 200 and "leads-" in download["Content-Disposition"]
    # The download is audited as a lead export's, and says so in the reader's language.
    with tenant_context(world_a.tenant.pk):
        event = AuditEvent.objects.get(action="lead.export.download", object_id=str(job.pk))
        assert event.actor == world_a.manager and event.details == {"rows": 2, "format": "xlsx"}
        assert not AuditEvent.objects.filter(action="customer.export.download").exists()
    audit_page = client_for(english(world_a.admin)).get(reverse("settings:audit"), {"action": "lead.export.download"})
    assert f"{world_a.manager.full_name} downloaded an export of 2 leads" in audit_page.content.decode()
    world_a.admin.language = "zh-hans"
    world_a.admin.save(update_fields=["language"])
    audit_page = client_for(world_a.admin).get(reverse("settings:audit"), {"action": "lead.export.download"})
    assert f"{world_a.manager.full_name} 下载了 2 条线索的导出文件" in audit_page.content.decode()
    # Another company's admin, or a colleague who did not ask for it: 404, as for a missing export.
    for user in (world_b.admin, world_a.rep1):
        assert client_for(user).get(reverse("customers:export_download", args=[job.pk])).status_code == 404

    # The privacy log lists it among the exports, with its list's name.
    log = client_for(world_a.admin).get(reverse("privacy_log"), {"tab": "exports"})
    assert [e.action for e in log.context["page"]] == ["lead.export"]
    assert log.context["page"][0].list_name
