"""A rep's daily work in the browser: log a follow-up on a customer (inline, htmx) and see its "last follow-up"
change, plan the next call as a task with a reminder, and tick a task off in the list."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crm.models import User
from crm.services.tenant import tenant_create
from customers.services.customer import customer_create
from sales.models import FollowUp, Task
from sales.services.appointment import appointment_save

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_rep_logs_a_follow_up_and_plans_a_task_with_a_reminder(e2e_page, e2e_base_url):
    tenant = tenant_create(
        name="E2E 销售公司",
        slug="e2e-sales",
        admin_email="admin@e2es.test",
        admin_password="Adm1n-pass-e2e",
        language="en",
    )
    rep = User.objects.create_user(
        email="rep@e2es.test", password="Rep-pass-e2e-1", tenant=tenant, full_name="王一", roles=["rep"]
    )
    customer = customer_create(
        acting_user=rep, data={"name": "杭州云帆科技有限公司"}, contact={"name": "张三", "mobile": "13812345678"}
    )
    page = e2e_page
    page.goto("/login/")
    page.fill("input[name=username]", "rep@e2es.test")
    page.fill("input[name=password]", "Rep-pass-e2e-1")
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{e2e_base_url}/")

    # Log a follow-up on the customer page, in place.
    page.goto(f"/customers/{customer.pk}/")
    last = page.locator("[data-testid=last-followed-up]")
    expect(last).to_have_text("never")
    page.click("[data-testid=log-followup]")
    form = page.locator("[data-testid=followup-form]")
    form.locator("select[name=kind]").select_option("call")
    form.locator("textarea[name=content]").fill("电话沟通了新一季的采购计划，客户对报价有兴趣。")
    form.locator("select[name=outcome]").select_option("positive")
    form.locator("select[name=contact]").select_option(label="张三")
    form.locator("input[name=next_step]").fill("发送正式报价单")
    # Saving without the text first: the error comes back in place and nothing is saved.
    form.locator("textarea[name=content]").fill("")
    form.locator("[data-testid=save-followup]").click()
    expect(page.locator("#followup-panel .invalid-feedback").first).to_be_visible()
    assert not FollowUp.objects.exists()
    page.locator("[data-testid=followup-form] textarea[name=content]").fill(
        "电话沟通了新一季的采购计划，客户对报价有兴趣。"
    )
    page.locator("[data-testid=followup-form] [data-testid=save-followup]").click()
    expect(page.locator("[data-testid=followup-logged]")).to_be_visible()
    expect(page.locator("[data-testid=followup-timeline]")).to_contain_text("电话沟通了新一季的采购计划")
    expect(last).not_to_have_text("never")
    customer.refresh_from_db()
    assert customer.last_followed_up_at is not None
    assert page.url == f"{e2e_base_url}/customers/{customer.pk}/"  # no page load: htmx swapped the panel

    # Plan tomorrow's call with a reminder, from the customer page.
    page.click("[data-testid=new-task-for-customer]")
    expect(page.locator("[data-testid=task-form]")).to_be_visible()
    tomorrow = timezone.localtime() + timedelta(days=1)
    due = tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)
    page.fill("input[name=title]", "给张三回电话：报价单")
    # A reminder in the past is refused, with the form kept as typed.
    page.fill("input[name=due_at]", due.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=remind_at]", (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.click("[data-testid=save-task]")
    expect(page.locator(".invalid-feedback")).to_contain_text("The reminder time is in the past")
    expect(page.locator("input[name=title]")).to_have_value("给张三回电话：报价单")
    assert not Task.objects.exists()
    page.fill("input[name=remind_at]", (due - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    page.click("[data-testid=save-task]")
    # Back on the customer page, the task is in the upcoming panel.
    expect(page).to_have_url(f"{e2e_base_url}/customers/{customer.pk}/")
    expect(page.locator("[data-testid=customer-tasks]")).to_contain_text("给张三回电话：报价单")
    task = Task.objects.get()
    assert task.customer == customer and task.assignee == rep
    assert timezone.localtime(task.remind_at) == due - timedelta(minutes=30)

    # From the task page, the customer is found with the picker (pinyin initials, htmx).
    page.goto("/tasks/new/")
    page.fill("[data-testid=customer-search]", "hzyf")
    expect(page.locator("select[name=customer] option:checked")).to_have_text("杭州云帆科技有限公司")
    page.fill("input[name=title]", "准备合同")
    page.fill("input[name=due_at]", (due + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=remind_at]", "")
    page.click("[data-testid=save-task]")
    expect(page.locator("[data-testid=task-title]")).to_have_text("准备合同")
    assert Task.objects.get(title="准备合同").customer == customer

    # The task list: tick it off without a page load, then reopen it.
    page.goto("/tasks/?status=all")
    item = page.locator(f"#task-{task.pk}")
    expect(item).to_contain_text("给张三回电话：报价单")
    item.locator("[data-testid=task-done]").click()
    expect(page.locator(f"#task-{task.pk} [data-testid=task-reopen]")).to_be_visible()
    task.refresh_from_db()
    assert task.done_at is not None
    page.locator(f"#task-{task.pk} [data-testid=task-reopen]").click()
    expect(page.locator(f"#task-{task.pk} [data-testid=task-done]")).to_be_visible()
    task.refresh_from_db()
    assert task.done_at is None


def test_conflict_warning_on_the_calendar_at_phone_width(e2e_new_page, e2e_base_url):
    from datetime import datetime, time

    from sales.models import Appointment

    tenant = tenant_create(
        name="E2E 日程公司",
        slug="e2e-cal",
        admin_email="admin@e2ecal.test",
        admin_password="Adm1n-pass-e2e",
        language="en",
    )
    rep = User.objects.create_user(
        email="rep@e2ecal.test", password="Rep-pass-e2e-2", tenant=tenant, full_name="李二", roles=["rep"]
    )
    day = timezone.localdate() + timedelta(days=1)
    start = timezone.make_aware(datetime.combine(day, time(10)))
    appointment_save(
        acting_user=rep, title="拜访老客户", start_at=start, end_at=start + timedelta(hours=2), place="客户公司"
    )
    page = e2e_new_page(viewport="phone", locale="en-US")
    page.goto("/login/")
    page.fill("input[name=username]", "rep@e2ecal.test")
    page.fill("input[name=password]", "Rep-pass-e2e-2")
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{e2e_base_url}/")

    page.goto(f"/calendar/?date={day.isoformat()}")
    expect(page.locator("[data-testid=cal-appointment]")).to_contain_text("拜访老客户")
    page.click("[data-testid=new-appointment]")
    page.fill("input[name=title]", "产品演示")
    page.fill("input[name=start_at]", f"{day.isoformat()}T11:00")
    page.fill("input[name=end_at]", f"{day.isoformat()}T12:30")
    page.click("[data-testid=save-appointment]")
    warning = page.locator("[data-testid=form-errors]")
    expect(warning).to_contain_text("overlaps")
    expect(page.locator("[data-testid=conflicts]")).to_contain_text("拜访老客户")
    assert Appointment.objects.count() == 1
    page.check("input[name=confirm_overlap]")
    page.click("[data-testid=save-appointment]")
    expect(page).to_have_url(f"{e2e_base_url}/calendar/?date={day.isoformat()}")
    flagged = page.locator("[data-testid=cal-appointment].conflict")
    expect(flagged).to_have_count(2)
    assert Appointment.objects.count() == 2
