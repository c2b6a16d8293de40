"""A rep imports contacts into their customers in the browser: from the customer list's import menu, through the
mapping and the preview (a refused row says why in its cell) to the result and the rejected rows to fix."""

import pytest
from playwright.sync_api import expect

from crm.models import User
from crm.services.tenant import tenant_create
from customers.services.customer import customer_create

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

CONTACTS = "客户名称,联系人,手机\n杭州云帆科技,赵六,13700000001\n杭州云帆科技,钱七,12345\n".encode("utf-8-sig")


def test_contacts_are_imported_into_existing_customers(e2e_page, e2e_base_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant = tenant_create(
        name="E2E 导入公司",
        slug="e2e-imp",
        admin_email="admin@e2ei.test",
        admin_password="Adm1n-pass-e2e",
        language="en",
    )
    rep = User.objects.create_user(
        email="rep@e2ei.test", password="Rep-pass-e2e-1", tenant=tenant, full_name="王一", roles=["rep"]
    )
    customer_create(acting_user=rep, data={"name": "杭州云帆科技有限公司"}, contact={"name": "张三"})
    page = e2e_page
    page.goto("/login/")
    page.fill("input[name=username]", "rep@e2ei.test")
    page.fill("input[name=password]", "Rep-pass-e2e-1")
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{e2e_base_url}/")

    page.goto("/customers/")
    page.click("[data-testid=import-menu]")
    page.click("[data-testid=import-contact]")
    expect(page.locator("h1")).to_have_text("Import contacts into existing customers")
    page.set_input_files("input[name=file]", {"name": "联系人.csv", "mimeType": "text/csv", "buffer": CONTACTS})
    page.click("[data-testid=import-upload]")
    # The recognised headers are chosen already.
    expect(page.locator("select[name=customer]")).to_have_value("0")
    expect(page.locator("select[name=name]")).to_have_value("1")
    page.click("[data-testid=import-check]")
    expect(page.locator("[data-testid=count-valid]")).to_have_text("1")
    expect(page.locator("[data-testid=count-invalid]")).to_have_text("1")
    expect(page.locator("tr[data-row='3'] [data-testid=cell-error]")).to_have_text(
        "“12345” is not a valid phone number."
    )
    page.click("[data-testid=import-commit]")
    expect(page.locator("[data-testid=import-done]")).to_contain_text("1 contact imported, 1 rows rejected.")
    with page.expect_download() as download:
        page.click("[data-testid=import-rejected]")
    assert download.value.suggested_filename == "联系人-rejected.csv"
    page.goto("/customers/")
    page.click("text=杭州云帆科技有限公司")
    expect(page.locator("body")).to_contain_text("赵六")
