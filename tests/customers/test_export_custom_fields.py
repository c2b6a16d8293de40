"""The customer export writes one column per custom field of customers in use, after the usual columns, in the
fields' order, as the customer's page shows the values; the cells are as Excel-safe as every other."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from crm.api.services.custom_field import custom_field_archive, custom_field_save
from customers.exports.customer import CustomerExport
from customers.services.customer import customer_create

COLUMNS = CustomerExport.base_columns

EXPORT = reverse("customers:export")


@pytest.fixture
def admin(world_a):
    admin = world_a.admin
    admin.language = "en"
    admin.save(update_fields=["language"])
    define = custom_field_save
    define(acting_user=admin, kind="customer", key="contract_no", label="合同号", type="text")
    define(acting_user=admin, kind="customer", key="budget", label="预算", type="money")
    define(acting_user=admin, kind="customer", key="signed_on", label="签约日期", type="date")
    define(acting_user=admin, kind="customer", key="products", label="产品", type="multi", choices=["CRM", "ERP"])
    define(acting_user=admin, kind="customer", key="vip", label="重点客户", type="boolean")
    old = define(acting_user=admin, kind="customer", key="old_code", label="旧编码", type="text")
    custom_field_save(acting_user=world_a.admin, kind="contact", key="hobby", label="爱好", type="text")
    values = {
        "contract_no": '=HYPERLINK("http://evil.test")',
        "budget": "12000.5",
        "signed_on": "2026-03-01",
        "products": ["ERP", "CRM"],
        "vip": True,
        "old_code": "X-1",
    }
    customer_create(acting_user=admin, data={"name": "云帆科技有限公司", "custom": values})
    customer_create(acting_user=admin, data={"name": "海川贸易有限公司", "custom": {"vip": False}})
    customer_create(acting_user=admin, data={"name": "星河软件有限公司"})
    custom_field_archive(acting_user=admin, field=old)
    return admin


CUSTOM_HEADERS = ["合同号", "预算", "签约日期", "产品", "重点客户"]


@pytest.mark.django_db
def test_csv_has_a_column_per_custom_field_in_use(admin, client_for):
    response = client_for(admin).post(EXPORT, {"format": "csv"})
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = rows[0]
    assert header[: len(COLUMNS)][:2] == ["Name", "Type"] and header[len(COLUMNS) :] == CUSTOM_HEADERS
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    yunfan = by_name["云帆科技有限公司"]
    assert [yunfan[h] for h in CUSTOM_HEADERS] == [
        '\'=HYPERLINK("http://evil.test")',  # neutralised, as every cell
        "12000.50",
        "2026-03-01",
        "CRM、ERP",
        "Yes",
    ]
    assert [by_name["海川贸易有限公司"][h] for h in CUSTOM_HEADERS] == ["", "", "", "", "No"]
    assert [by_name["星河软件有限公司"][h] for h in CUSTOM_HEADERS] == [""] * 5
    assert "旧编码" not in header and "X-1" not in raw.decode("utf-8-sig")  # archived: not exported
    assert "爱好" not in header  # a contact's field is no customer column


@pytest.mark.django_db
def test_xlsx_has_the_same_columns_as_text(admin, client_for):
    response = client_for(admin).post(EXPORT, {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    assert header[len(COLUMNS) :] == CUSTOM_HEADERS
    rows = {row[0].value: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)}
    cells = rows["云帆科技有限公司"]
    assert cells["合同号"].value == '\'=HYPERLINK("http://evil.test")' and cells["合同号"].data_type == "s"
    assert cells["预算"].value == "12000.50" and cells["产品"].value == "CRM、ERP" and cells["重点客户"].value == "Yes"
    assert rows["星河软件有限公司"]["签约日期"].value is None
