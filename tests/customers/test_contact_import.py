"""The contact import kind (contacts into existing customers): a third kind that is one small module on the import
framework. Rows find their customer by its name, credit code or a phone it has; rows whose customer the importer
may not change are refused with the reason; duplicates of the customer's contacts, of another customer's phone and
of earlier rows are reported; the commit adds exactly the valid rows, in one transaction."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.imports.models import ImportJob
from crm.imports.services import import_map, import_start, import_upload
from crm.models import AuditEvent
from customers.imports.contact import ContactKind
from customers.models import Contact, Customer, CustomerIdentifier
from customers.services.customer import customer_create
from customers.services.tenant import default_pool, tenant_defaults
from customers.services.transfer import customer_transfer

UPLOAD = reverse("customers:contact_import")
HEADERS = ["客户名称", "统一社会信用代码", "客户电话", "联系人", "职务", "手机", "邮箱"]
YUNFAN_CODE = "91330100MA27XY8120"
XINGHE_CODE = "91110105MA01ABCD12"


def csv_bytes(rows, headers=HEADERS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


ROWS = [
    ["杭州云帆科技", "", "", "赵六", "采购", "13700000001", ""],  # 2 valid: by name (folded)
    ["", YUNFAN_CODE, "", "钱七", "", "", "qian@yunfan.test"],  # 3 valid: by credit code
    ["", "", "138 0000 0001", "孙八", "", "13700000003", ""],  # 4 valid: by a phone the customer has
    ["北京星河贸易有限公司", "", "", "冒名", "", "13700000004", ""],  # 5 invalid: rep2's customer
    ["杭州云帆科技有限公司", "", "", "张三", "", "", ""],  # 6 duplicate: a contact of that name
    ["杭州云帆科技有限公司", "", "", "周九", "", "13800000001", ""],  # 7 duplicate: 张三's phone
    ["杭州云帆科技有限公司", "", "", "吴十", "", "13900000002", ""],  # 8 duplicate: rep2's customer's phone
    ["不存在的公司", "", "", "郑十一", "", "", ""],  # 9 invalid: no such customer
    ["杭州云帆科技有限公司", XINGHE_CODE, "", "王十二", "", "", ""],  # 10 invalid: two customers
    ["杭州云帆科技", "", "", "冯十三", "", "13700000001", ""],  # 11 duplicate: row 2's phone
    ["王五", "", "", "陈十四", "", "13700000005", ""],  # 12 valid: a person, by exact name
    ["杭州云帆科技有限公司", "", "", "", "", "13700000006", ""],  # 13 invalid: no contact name
    ["公海客户有限公司", "", "", "褚十五", "", "13700000007", ""],  # 14 invalid: a pool customer
    ["杭州云帆科技有限公司", "", "", "卫十六", "", "12345", ""],  # 15 invalid: phone
]
EXPECTED = {
    2: "valid",
    3: "valid",
    4: "valid",
    5: "invalid",
    6: "duplicate",
    7: "duplicate",
    8: "duplicate",
    9: "invalid",
    10: "invalid",
    11: "duplicate",
    12: "valid",
    13: "invalid",
    14: "invalid",
    15: "invalid",
}


@pytest.fixture
def world(world_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant_defaults(tenant=world_a.tenant)
    for user in (world_a.admin, world_a.rep1, world_a.rep2, world_a.agent):
        user.language = "en"
        user.save(update_fields=["language"])
    world_a.yunfan = customer_create(
        acting_user=world_a.rep1,
        data={"name": "杭州云帆科技有限公司", "credit_code": YUNFAN_CODE},
        contact={"name": "张三", "mobile": "13800000001"},
    )
    world_a.xinghe = customer_create(
        acting_user=world_a.rep2,
        data={"name": "北京星河贸易有限公司", "credit_code": XINGHE_CODE},
        contact={"name": "李四", "mobile": "13900000002"},
    )
    world_a.wangwu = customer_create(acting_user=world_a.rep1, data={"name": "王五", "kind": Customer.Kind.PERSON})
    customer_create(
        acting_user=world_a.admin,
        data={"name": "公海客户有限公司"},
        owner=None,
        to_pool=default_pool(world_a.tenant),
    )
    return world_a


def upload_and_check(client, rows=ROWS, name="联系人.csv") -> ImportJob:
    response = client.post(UPLOAD, {"file": SimpleUploadedFile(name, csv_bytes(rows))})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.latest("pk")
    assert job.kind == "contact" and response["Location"] == reverse("imports:mapping", args=[job.pk])
    data = {t.key: str(job.mapping[t.key]) if t.key in job.mapping else "" for t in ContactKind.targets}
    response = client.post(reverse("imports:mapping", args=[job.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    job.refresh_from_db()
    assert job.status == "previewed"
    return job


def statuses(client, job) -> dict[int, str]:
    html = client.get(reverse("imports:preview", args=[job.pk])).content.decode()
    return {int(n): s for n, s in re.findall(r'data-row="(\d+)" data-status="(\w+)"', html)}


def test_headers_are_recognised():
    from crm.imports.reader import guess_mapping

    assert guess_mapping(HEADERS, ContactKind.targets) == {
        "customer": 0,
        "credit_code": 1,
        "customer_phone": 2,
        "name": 3,
        "title": 4,
        "mobile": 5,
        "email": 6,
    }


def test_preview_finds_each_rows_customer_and_says_why_not(world, client_for):
    client = client_for(world.rep1)
    job = upload_and_check(client)
    assert statuses(client, job) == EXPECTED
    assert job.summary["valid"] == 4 and job.summary["duplicate"] == 4 and job.summary["invalid"] == 6
    html = client.get(reverse("imports:preview", args=[job.pk])).content.decode()
    # rep2's customer: rep1 learns who holds it, not its name.
    assert "You may not add contacts to an existing customer held by A 销售二." in html
    assert "You may not add contacts to an existing customer in the pool" in html
    assert "This customer already has a contact named “张三”." in html
    assert "This phone number already belongs to contact “张三” of this customer." in html
    assert "This phone number already belongs to an existing customer held by A 销售二." in html
    assert "No customer matches “不存在的公司”." in html
    assert "match different customers" in html
    assert "This phone number already appears in row 2 of this file." in html
    assert "The contact&#x27;s name is missing." in html
    assert "“12345” is not a valid phone number." in html
    assert Contact.objects.filter(tenant=world.tenant).count() == 2  # nothing saved by the preview


def test_commit_adds_exactly_the_valid_contacts(world, client_for):
    client = client_for(world.rep1)
    job = upload_and_check(client)
    client.post(reverse("imports:commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert (job.created_count, job.rejected_count, job.processed_rows) == (4, 10, 14)
    added = Contact.objects.filter(tenant=world.tenant, created_by=world.rep1).exclude(name="张三")
    assert {c.name: c.customer for c in added} == {
        "赵六": world.yunfan,
        "钱七": world.yunfan,
        "孙八": world.yunfan,
        "陈十四": world.wangwu,
    }
    assert added.get(name="赵六").mobile == "+8613700000001" and added.get(name="赵六").title == "采购"
    assert added.get(name="钱七").email == "qian@yunfan.test"
    # 王五 had no contact: the first one becomes primary; 云帆 keeps 张三 as its primary.
    assert added.get(name="陈十四").is_primary and not added.filter(customer=world.yunfan, is_primary=True).exists()
    # Their phones and emails are registered: the database now refuses them for any other customer (防撞单).
    assert CustomerIdentifier.objects.filter(customer=world.yunfan, kind="phone", value="+8613700000001").exists()
    assert CustomerIdentifier.objects.filter(customer=world.yunfan, kind="email", value="qian@yunfan.test").exists()
    assert AuditEvent.objects.filter(action="contact.create", details__import=job.pk).count() == 4
    event = AuditEvent.objects.get(action="contact.import", object_id=str(job.pk))
    assert event.details["created"] == 4 and event.details["rejected"] == 10
    rejected = client.get(reverse("imports:rejected", args=[job.pk])).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(rejected)))
    assert [line[3] for line in lines[1:]] == [
        "冒名",
        "张三",
        "周九",
        "吴十",
        "郑十一",
        "王十二",
        "冯十三",
        "",
        "褚十五",
        "卫十六",
    ]
    # Committing again changes nothing.
    client.post(reverse("imports:commit", args=[job.pk]))
    assert Contact.objects.filter(tenant=world.tenant).count() == 6


def test_an_administrator_may_add_contacts_to_any_held_customer(world, client_for):
    client = client_for(world.admin)
    job = upload_and_check(client, [ROWS[3]])
    assert statuses(client, job) == {2: "valid"}
    client.post(reverse("imports:commit", args=[job.pk]))
    assert Contact.objects.get(name="冒名").customer == world.xinghe


def test_the_mapping_needs_a_name_and_a_way_to_the_customer(world, client_for):
    client = client_for(world.rep1)
    client.post(UPLOAD, {"file": SimpleUploadedFile("c.csv", csv_bytes([["张三", "13700000001"]], ["联系人", "手机"]))})
    job = ImportJob.objects.latest("pk")
    response = client.post(reverse("imports:mapping", args=[job.pk]), {"name": "0", "mobile": "1"})
    assert response.status_code == 422
    assert "Choose the column that tells the customer: its name, credit code or phone." in response.content.decode()
    response = client.post(reverse("imports:mapping", args=[job.pk]), {"customer": "0", "mobile": "1"})
    assert response.status_code == 422 and "Choose the column that holds the contact&#x27;s name." in (
        response.content.decode()
    )


def test_a_customer_that_changes_hands_or_a_phone_taken_meanwhile_refuse_only_their_rows(world, monkeypatch):
    """Between the commit's check of a batch and its insert: 云帆 goes to rep2, and another customer takes the
    phone of one of 王五's new contacts. The first row is refused under the customers' lock, the second by the
    identifier index (the batch is redone row by row, naming the holder); the other row is imported."""
    rep1 = world.rep1
    rows = [ROWS[0], ROWS[10], ["王五", "", "", "蒋十七", "", "13700000008", ""]]
    job = import_upload(
        acting_user=rep1, kind=ContactKind, uploaded=SimpleUploadedFile("r.csv", csv_bytes(rows)), destination=None
    )
    job = import_map(acting_user=rep1, job=job, columns=job.mapping)
    assert job.summary["valid"] == 3
    original = ContactKind.create

    def meanwhile(kind, batch):
        customer_transfer(acting_user=world.admin, customers=[world.yunfan], to_owner=world.rep2, reason="调整")
        customer_create(
            acting_user=world.rep2, data={"name": "抢号有限公司"}, contact={"name": "蒋", "mobile": "13700000008"}
        )
        return original(kind, batch)

    monkeypatch.setattr(ContactKind, "create", meanwhile)
    job = import_start(acting_user=rep1, job=job)
    assert job.status == "done" and job.created_count == 1 and job.rejected_count == 2, job.error
    assert set(Contact.objects.filter(created_by=rep1).exclude(name="张三").values_list("name", flat=True)) == {
        "陈十四"
    }
    with job.rejected_file.open("rb") as handle:
        rejected = handle.read().decode("utf-8-sig")
    assert "This customer is no longer one you may change." in rejected
    assert "This phone number already belongs to an existing customer held by A 销售二." in rejected


def test_only_sales_roles_import_contacts_and_the_customer_list_offers_it(world, client_for):
    assert client_for(world.agent).get(UPLOAD).status_code == 403
    page = client_for(world.rep1).get(reverse("customers:list")).content.decode()
    assert reverse("customers:contact_import") in page and reverse("customers:import") in page
    assert "Import contacts into existing customers" in page
    assert 'data-testid="import-menu"' not in client_for(world.agent).get(reverse("customers:list")).content.decode()


def test_a_lunar_birthday_column_is_read_and_a_bad_one_refused(world, client_for):
    client = client_for(world.rep1)
    headers = ["客户名称", "联系人", "生日", "农历生日"]
    rows = [
        ["杭州云帆科技", "农历甲", "", "八月十五"],  # 2 valid
        ["杭州云帆科技", "农历乙", "1988-05-01", "闰四月初八"],  # 3 valid: both, greeted on the lunar one
        ["杭州云帆科技", "农历丙", "", "十三月初一"],  # 4 invalid: no 13th month
    ]
    response = client.post(UPLOAD, {"file": SimpleUploadedFile("农历.csv", csv_bytes(rows, headers))})
    job = ImportJob.objects.latest("pk")
    data = {t.key: str(job.mapping[t.key]) if t.key in job.mapping else "" for t in ContactKind.targets}
    assert job.mapping["lunar_birthday"] == 3
    client.post(reverse("imports:mapping", args=[job.pk]), data)
    assert statuses(client, job) == {2: "valid", 3: "valid", 4: "invalid"}
    assert response.status_code == 302
    client.post(reverse("imports:commit", args=[job.pk]))
    jia, yi = Contact.objects.get(name="农历甲"), Contact.objects.get(name="农历乙")
    assert (jia.lunar_birthday_month, jia.lunar_birthday_day, jia.lunar_birthday_leap) == (8, 15, False)
    assert (yi.lunar_birthday_month, yi.lunar_birthday_day, yi.lunar_birthday_leap) == (4, 8, True)
    assert yi.prefers_lunar_birthday and yi.birthday.isoformat() == "1988-05-01"
