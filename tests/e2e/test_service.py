"""The service desk in the browser: an admin writes a dispatch rule, reads its dry run and applies it; an agent takes a phone
call as a ticket (customer found by search, contact chosen by htmx), the rules dispatch it, the agent replies with a
canned reply and a screenshot and sets it pending the customer; at phone width the list shows the ticket and its timer."""

import pytest
from playwright.sync_api import expect

from crm.models import Team, User
from crm.services.tenant import tenant_create
from customers.services.customer import customer_create
from service.models import CannedReply, SlaPolicy, Ticket, TicketMessage
from service.services.ticket import ticket_create

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def log_in(page, email, password):
    page.goto("/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_dispatch_rule_dry_run_then_an_agent_creates_and_replies(e2e_new_page, e2e_base_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant = tenant_create(
        name="E2E 客服公司",
        slug="e2e-service",
        admin_email="admin@e2esv.test",
        admin_password="Adm1n-pass-e2e",
        language="en",
    )
    admin = User.objects.get(email="admin@e2esv.test")
    desk = Team.objects.create(tenant=tenant, name="客服部")
    desk.path = f"/{desk.pk}/"
    desk.save(update_fields=["path"])
    agent = User.objects.create_user(
        email="agent@e2esv.test",
        password="Agent-pass-e2e-1",
        tenant=tenant,
        full_name="陈静",
        roles=["agent"],
        team=desk,
    )
    customer = customer_create(
        acting_user=admin,
        data={"name": "杭州云帆科技有限公司"},
        contact={"name": "张三", "mobile": "13812345678", "email": "zhang.san@yunfan.example"},
    )
    SlaPolicy.objects.create(tenant=tenant, priority="high", first_response_minutes=60, resolution_minutes=480)
    CannedReply.objects.create(tenant=tenant, title="已收到", body="您好，我们已收到您的问题。")
    waiting = ticket_create(tenant=tenant, acting_user=admin, customer=customer, subject="等待分派的工单")
    assert waiting.assignee is None

    # The admin writes a rule and reads where the waiting ticket would go; nothing changes.
    page = e2e_new_page(viewport="desktop", locale="en-US")
    log_in(page, "admin@e2esv.test", "Adm1n-pass-e2e")
    page.goto("/settings/service/")
    page.click("[data-testid=new-rule]")
    form = page.locator("[data-testid=rule-form]")
    form.locator("input[name=name]").fill("客服部轮流")
    form.locator("select[name=team]").select_option(label="客服部")
    form.locator("[data-testid=save-rule]").click()
    expect(page.locator("[data-testid=rules]")).to_contain_text("客服部轮流")
    page.click("[data-testid=dry-run]")
    expect(page.locator("[data-testid=dry-run-agent]").first).to_have_text("陈静")
    assert Ticket.objects.get(pk=waiting.pk).assignee is None
    # Applying it gives exactly what it showed (the confirm listener is bound once the page has loaded).
    page.wait_for_load_state("load")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-testid=dry-run-apply] button").click()
    page.wait_for_url(lambda url: "/tickets/" in url)
    page.goto("/tickets/?view=all")
    expect(page.locator(f"[data-testid=ticket-row][data-ticket='{waiting.pk}']")).to_contain_text("陈静")
    assert Ticket.objects.get(pk=waiting.pk).assignee == agent

    # The agent takes a phone call as a ticket: the rule gives it to them.
    page = e2e_new_page(viewport="desktop", locale="en-US")
    log_in(page, "agent@e2esv.test", "Agent-pass-e2e-1")
    page.goto("/tickets/")
    page.click("[data-testid=new-ticket]")
    # The search sends its request through htmx, which binds once the new page has loaded: type only then.
    expect(page.locator("[data-testid=ticket-form]")).to_be_visible()
    page.wait_for_load_state("load")
    page.fill("[data-testid=customer-search]", "杭州云帆")
    expect(page.locator("[data-testid=customer-select]")).to_have_value(str(customer.pk))
    expect(page.locator("select[name=contact] option", has_text="张三")).to_have_count(1)
    page.select_option("select[name=contact]", label="张三")
    page.fill("input[name=subject]", "打印机无法连接网络")
    page.select_option("select[name=priority]", "high")
    page.click("[data-testid=save-ticket]")
    expect(page.locator("[data-testid=ticket-title]")).to_contain_text("打印机无法连接网络")
    expect(page.locator("[data-testid=ticket-assignee]")).to_have_text("陈静")
    expect(page.locator("[data-testid=sla-timer]").first).to_be_visible()
    # The canned-reply listener (static/js/service/ticket.js) is attached once the ticket page has loaded.
    page.wait_for_load_state("load")

    # A public reply from a canned reply, then pending the customer: the timer pauses.
    page.select_option("[data-testid=canned]", label="已收到")
    expect(page.locator("textarea[name=body]")).to_have_value("您好，我们已收到您的问题。")
    page.select_option("select[name=status]", "pending")
    page.set_input_files(
        "input[name=attachments]", files=[{"name": "截图.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.click("[data-testid=send-reply]")
    expect(page.locator("[data-testid=message][data-kind=reply]")).to_contain_text("我们已收到")
    expect(page.locator("[data-testid=message][data-kind=reply] [data-testid=attachment]")).to_contain_text("截图.png")
    expect(page.locator("[data-testid=ticket-status]")).to_have_text("Pending customer")
    expect(page.locator("[data-testid=sla-timer]").first).to_have_attribute("data-state", "paused")
    ticket = Ticket.objects.get(subject="打印机无法连接网络")
    assert ticket.first_responded_at is not None and TicketMessage.objects.filter(ticket=ticket).count() == 1

    # At phone width, in Chinese, the list shows it.
    phone = e2e_new_page(viewport="phone", locale="zh-CN")
    agent.language = "zh-hans"
    agent.save(update_fields=["language"])
    log_in(phone, "agent@e2esv.test", "Agent-pass-e2e-1")
    phone.goto("/tickets/?view=all")
    row = phone.locator(f"[data-testid=ticket-row][data-ticket='{ticket.pk}']")
    expect(row).to_contain_text("打印机无法连接网络")
    expect(row.locator("[data-testid=ticket-status]")).to_have_text("等待客户")
