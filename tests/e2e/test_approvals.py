"""Approvals in a browser: a manager approves a rep's extension request in one click from the notification, at
phone width, and the rep reads the outcome; a working-calendar override added and removed on the settings page."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.approvals.models import ApprovalRequest
from crm.models import Team, User
from crm.services.tenant import tenant_create
from crm.workcalendar.models import CalendarOverride
from crm.workcalendar.selectors import local_today
from customers.models import Customer
from customers.services.customer import customer_create
from customers.services.extension import extension_request

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "Approvals-e2e-pass-1"


def make_company():
    tenant = tenant_create(
        name="E2E 审批公司",
        slug="e2e-approvals",
        admin_email="admin@e2eap.test",
        admin_password=PASSWORD,
        language="en",
    )
    sales = Team.objects.get(tenant=tenant, parent=None)
    manager = User.objects.create_user(
        email="manager@e2eap.test", password=PASSWORD, tenant=tenant, full_name="经理甲", roles=["manager"], team=sales
    )
    sales.manager = manager
    sales.save()
    rep = User.objects.create_user(
        email="rep@e2eap.test", password=PASSWORD, tenant=tenant, full_name="销售一", roles=["rep"], team=sales
    )
    return tenant, manager, rep


def log_in(page, base_url, email):
    page.goto("/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{base_url}/")


def test_manager_approves_from_the_notification_on_a_phone(e2e_new_page, e2e_base_url):
    _tenant, manager, rep = make_company()
    customer = customer_create(acting_user=rep, data={"name": "快到期公司"})
    Customer.objects.filter(pk=customer.pk).update(owned_since=timezone.now() - dt.timedelta(days=60))
    customer.refresh_from_db()
    extension = extension_request(acting_user=rep, customer=customer, reason="客户下周签合同")
    approval = ApprovalRequest.objects.get(kind="pool.extension", object_id=extension.pk)

    page = e2e_new_page(viewport="phone")
    log_in(page, e2e_base_url, manager.email)
    page.goto("/notifications/")
    decision = page.locator(f"[data-testid=decision-{approval.pk}]").first
    decision.locator("input[name=comment]").fill("同意")
    decision.locator(f"[data-testid=approve-{approval.pk}]").click()
    expect(page.locator(f"[data-testid=decision-{approval.pk}]").first).to_contain_text("Approved")
    assert Customer.objects.get(pk=customer.pk).extension_days > 0

    rep_page = e2e_new_page()
    log_in(rep_page, e2e_base_url, rep.email)
    rep_page.goto(f"/approvals/{approval.pk}/")
    expect(rep_page.locator("[data-testid=approval-steps]")).to_contain_text("同意")
    expect(rep_page.locator("[data-testid=approval-steps]")).to_contain_text("经理甲")


def test_admin_adds_and_removes_a_company_holiday(e2e_page, e2e_base_url):
    tenant, _manager, _rep = make_company()
    first = local_today(tenant) + dt.timedelta(days=10)
    second = first + dt.timedelta(days=1)
    log_in(e2e_page, e2e_base_url, "admin@e2eap.test")
    e2e_page.goto(f"/settings/calendar/?start={first - dt.timedelta(days=2)}")
    form = e2e_page.locator("[data-testid=override-form]")
    form.locator("input[name=first_day]").fill(first.isoformat())
    form.locator("input[name=last_day]").fill(second.isoformat())
    form.locator("input[name=note]").fill("团建")
    form.locator("button[type=submit]").click()
    expect(e2e_page.locator("[data-testid=messages]")).to_contain_text("2 dates added")
    assert CalendarOverride.objects.filter(tenant=tenant).count() == 2
    e2e_page.goto(f"/settings/calendar/?start={first - dt.timedelta(days=2)}")
    expect(e2e_page.locator(f"[data-testid=calendar-preview] tr[data-day='{first}']")).to_contain_text("团建")
    e2e_page.locator(f"[data-testid=remove-{first}]").click()
    expect(e2e_page.locator("[data-testid=messages]")).to_contain_text("follows the normal calendar again")
    assert list(CalendarOverride.objects.filter(tenant=tenant).values_list("day", flat=True)) == [second]
