"""The API's settings pages in the browser: an API token made (its secret shown once) and revoked; a webhook
registered, its delivery log read and a delivery sent again; a custom field defined and filled in on a lead; a group
robot changed and tested."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from crm.api.models import ApiToken, WebhookDelivery
from crm.api.services.webhook import webhook_emit
from crm.models import OutboundMessage, RobotChannel
from crm.services.notification import robot_channel_save
from sales.models import Lead
from tests.conftest import build_world
from tests.e2e.test_csp import WATCH, log_in

from ..sales.funnel import make_lead

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def english(*users):
    for user in users:
        user.language = "en"
        user.save(update_fields=["language"])


def test_token_made_shown_once_and_revoked(e2e_new_page, redis_test_db):
    world = build_world("TOK")
    english(world.admin)
    page = e2e_new_page(viewport="desktop", locale="en-US")
    page.add_init_script(WATCH)
    log_in(page, world.admin.email)
    page.goto(reverse("api:tokens"))
    form = page.locator("[data-testid=token-form]")
    form.locator("input[name=name]").fill("ERP sync")
    form.locator("select[name=scope]").select_option("write")
    form.locator("button[type=submit]").click()
    secret = page.locator("[data-testid=token-secret] code")
    expect(secret).to_contain_text("crm_")
    token = ApiToken.objects.get(tenant=world.tenant, name="ERP sync")
    row = page.locator(f"[data-testid=token-{token.pk}]")
    expect(row).to_contain_text("ERP sync")
    page.goto(reverse("api:tokens"))
    expect(page.locator("[data-testid=token-secret]")).to_have_count(0)  # shown only once
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button").click()
    expect(page.locator(f"[data-testid=token-{token.pk}]")).to_contain_text("Revoked")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert page.evaluate("window.__csp") == []


def test_webhook_registered_delivery_log_and_resend(e2e_new_page, redis_test_db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    world = build_world("HOOK")
    english(world.admin)
    page = e2e_new_page(viewport="desktop", locale="en-US")
    log_in(page, world.admin.email)
    page.goto(reverse("api:webhooks"))
    form = page.locator("[data-testid=webhook-form]")
    form.locator("input[name=url]").fill("http://127.0.0.1:9/hook")
    form.locator("input[value='opportunity.won']").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=webhook-secret]")).to_contain_text("whsec_")
    endpoint_id = int(page.url.rstrip("/").split("/")[-1])
    webhook_emit(tenant_id=world.tenant.pk, event="opportunity.won", data={"id": 1, "name": "年度合同"})
    delivery = WebhookDelivery.objects.get(endpoint_id=endpoint_id)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=6, last_error="connection refused")
    page.reload()
    row = page.locator(f"[data-testid=delivery-{delivery.pk}]")
    expect(row).to_contain_text("opportunity.won")
    expect(row).to_contain_text("connection refused")
    row.get_by_role("button", name="Resend").click()
    expect(page.get_by_text("The delivery is queued again.")).to_be_visible()
    delivery.refresh_from_db()
    assert delivery.status == "queued"


def test_custom_field_defined_then_filled_on_a_lead(e2e_new_page, redis_test_db):
    world = build_world("CF")
    english(world.admin, world.rep1)
    lead = make_lead(world.rep1, "赵磊", phone="13800138123")
    admin = e2e_new_page(viewport="desktop", locale="en-US")
    log_in(admin, world.admin.email)
    admin.goto(reverse("api:custom_fields"))
    form = admin.locator("[data-testid=custom-field-form]")
    form.locator("select[name=kind]").select_option("lead")
    form.locator("input[name=label]").fill("Budget")
    form.locator("input[name=key]").fill("budget")
    form.locator("select[name=type]").select_option("money")
    form.locator("button[type=submit]").click()
    expect(admin.locator("[data-testid=custom-fields]")).to_contain_text("Budget")

    rep = e2e_new_page(viewport="phone", locale="en-US")
    log_in(rep, world.rep1.email)
    rep.goto(reverse("sales:lead_edit", args=[lead.pk]))
    rep.fill("input[name=custom_budget]", "50000")
    rep.click("[data-testid=save-lead]")
    expect(rep.locator("[data-testid=custom-values]")).to_contain_text("50000.00")
    lead.refresh_from_db()
    assert lead.custom == {"budget": "50000.00"}
    rep.goto(reverse("sales:lead_list") + "?cf_budget=50000&status=all")
    expect(rep.locator("input[name=cf_budget]")).to_have_value("50000")
    expect(rep.get_by_text("赵磊").first).to_be_visible()
    assert Lead.objects.filter(custom__budget="50000.00").count() == 1


def test_robot_changed_and_tested(e2e_new_page, redis_test_db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    world = build_world("BOT")
    english(world.admin)
    robot = robot_channel_save(
        acting_user=world.admin, kind="wecom", name="销售群", url="http://127.0.0.1:9/wecom", events=["lead_assigned"]
    )
    page = e2e_new_page(viewport="desktop", locale="en-US")
    log_in(page, world.admin.email)
    page.goto(reverse("settings:robots"))
    page.locator(f"[data-testid=robot-{robot.pk}] [data-testid=robot-edit-link]").click()
    expect(page.locator("[data-testid=robot-name]")).to_contain_text("销售群")
    page.fill("input[name=name]", "销售一组群")
    page.click("[data-testid=save-robot]")
    expect(page.get_by_text("The robot is saved.")).to_be_visible()
    expect(page.locator("[data-testid=robot-name]")).to_contain_text("销售一组群")
    page.click("[data-testid=robot-test]")
    expect(page.get_by_text("A test message is on its way")).to_be_visible()
    robot.refresh_from_db()
    assert robot.name == "销售一组群"
    assert OutboundMessage.objects.filter(channel="robot", to_address=f"robot:{robot.pk}").count() == 1
    assert RobotChannel.objects.filter(tenant=world.tenant).count() == 1
