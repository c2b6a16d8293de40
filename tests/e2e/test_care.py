"""Customer care in a browser: a manager finds Customer care in the navigation, creates the birthday campaign,
watches the audience count follow the level chosen, sees the preview rendered for a real contact, and finds today's
birthday in the day preview."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from crm.models import Team, User
from crm.services.tenant import tenant_create
from crm.workcalendar.selectors import local_today
from customers.models import Contact, Customer, CustomerLevel
from customers.services.customer import customer_create

from .navigation import open_from_menu

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "Care-e2e-pass-1"


def test_a_manager_sets_up_birthday_greetings(e2e_new_page, e2e_base_url):
    tenant = tenant_create(
        name="E2E 关怀公司", slug="e2e-care", admin_email="admin@e2ecare.test", admin_password=PASSWORD, language="en"
    )
    sales = Team.objects.get(tenant=tenant, parent=None)
    manager = User.objects.create_user(
        email="manager@e2ecare.test",
        password=PASSWORD,
        tenant=tenant,
        full_name="经理甲",
        roles=["manager"],
        team=sales,
    )
    sales.manager = manager
    sales.save(update_fields=["manager"])
    rep = User.objects.create_user(
        email="rep@e2ecare.test", password=PASSWORD, tenant=tenant, full_name="销售乙", roles=["rep"], team=sales
    )
    key = CustomerLevel.objects.get_or_create(tenant=tenant, code="A", defaults={"name": "重点客户"})[0]
    today = local_today(tenant)
    born = dt.date(1992, 2, 29) if (today.month, today.day) == (2, 29) else today.replace(year=1985)
    for i, (name, level) in enumerate((("寿星公司", key), ("普通公司", None))):
        customer = customer_create(
            acting_user=rep, data={"name": name}, contact={"name": f"{name}联系人", "email": f"c{i}@e2e.cn"}
        )
        Customer.objects.filter(pk=customer.pk).update(level=level)
        Contact.objects.filter(customer=customer).update(birthday=born, marketing_consent=True)

    page = e2e_new_page(viewport="desktop", locale="en-US")
    page.goto("/login/")
    page.fill("input[name=username]", manager.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{e2e_base_url}/")

    open_from_menu(page, "marketing", "Customer care")
    page.click("[data-testid=new-birthday]")
    expect(page.get_by_test_id("audience-count")).to_contain_text("2 contacts")
    page.fill("#id_name", "生日祝福")
    page.select_option("#id_audience_level", str(key.pk))
    # The live count follows the level chosen (htmx).
    expect(page.get_by_test_id("audience-count")).to_contain_text("1 contacts")
    page.fill("#id_email_subject", "{{ contact.name }}，生日快乐！")
    page.fill("#id_email_body", "{{ customer.name }}祝您生日快乐")
    page.click("[data-testid=save-campaign]")
    expect(page.get_by_test_id("preview-email")).to_contain_text("生日快乐")
    expect(page.get_by_test_id("preview-email")).to_contain_text("公司祝您生日快乐")

    open_from_menu(page, "marketing", "Customer care")
    page.click("[data-testid=care-preview-tab]")
    expect(page.get_by_test_id("preview-contact")).to_have_count(1)
    expect(page.get_by_test_id("preview-contact")).to_contain_text("寿星公司联系人")
