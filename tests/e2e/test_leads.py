"""The funnel in the browser: a visitor sends the public form; the rep sees the lead with its score, qualifies it
and converts it into a customer with an opportunity; on the board the rep drags it (htmx + SortableJS, saved at
once) to the next stage, to won — and the order is on the customer page —; a refused drag puts the card back, and
the lost column asks for the reason first."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from crm.models import User
from crm.services.tenant import tenant_create
from customers.models import Customer
from customers.services.customer import customer_create
from sales.models import Lead, Opportunity, Order, Stage, StageChange
from sales.services.lead_scoring import scoring_rule_save
from sales.services.opportunity import opportunity_create
from sales.services.pipeline import ensure_default_pipeline
from sales.services.web_form import web_form_save

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def log_in(page, base_url, email, password):
    page.goto("/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{base_url}/")


def drag(page, card, column):
    """Drag a card by its lower edge (not its link) onto a column's card list, the way a mouse does."""
    testid = card.get_attribute("data-testid")
    card.scroll_into_view_if_needed()
    # Hovering waits until the card is stable: a card Sortable is still animating back into place is not grabbed
    # by where it was a moment ago.
    size = card.bounding_box()
    card.hover(position={"x": size["width"] / 2, "y": size["height"] - 6})
    box = card.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 6
    page.mouse.down()
    page.mouse.move(x + 8, y + 8, steps=4)
    target = column.locator(".board-cards").bounding_box()
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 20, steps=20)
    # Sortable's fallback drag notices the column under the pointer on a timer, not on the move itself: release
    # only once the card (not its floating copy) sits in the target column, however slow the machine.
    expect(column.locator(f".board-cards > [data-testid={testid}]:not(.sortable-fallback)")).to_be_attached()
    page.mouse.up()


def setup_company(slug):
    tenant = tenant_create(
        name="E2E 线索公司", slug=slug, admin_email=f"admin@{slug}.test", admin_password="Adm1n-pass-e2e", language="en"
    )
    admin = User.objects.get(email=f"admin@{slug}.test")
    rep = User.objects.create_user(
        email=f"rep@{slug}.test", password="Rep-pass-e2e-1", tenant=tenant, full_name="王一", roles=["rep"]
    )
    return tenant, admin, rep


def test_a_visitor_becomes_a_customer_with_an_opportunity_won_on_the_board(e2e_new_page, e2e_base_url, settings):
    settings.LEAD_FORM_MIN_SECONDS = 0  # the robot check has its own tests (tests/sales/test_web_form.py)
    tenant, admin, rep = setup_company("e2e-lead")
    web_form_save(
        acting_user=admin,
        is_enabled=True,
        title="Talk to our sales team",
        intro="",
        thank_you="Thank you, we will call you back today.",
        fields=["name", "company", "phone", "email", "message"],
        required_fields=["name", "phone"],
        owner=rep,
        source="web",
    )
    scoring_rule_save(acting_user=admin, field="source", condition="equals", value="web", points=20)
    scoring_rule_save(acting_user=admin, field="message", condition="contains", value="demo", points=15)

    # A visitor, on a phone, with no account.
    visitor = e2e_new_page(viewport="phone", locale="en-US")
    visitor.goto(f"/f/{tenant.slug}/lead/")
    expect(visitor.locator("[data-testid=public-form-title]")).to_have_text("Talk to our sales team")
    visitor.fill("input[name=name]", "孙丽")
    visitor.fill("input[name=company]", "青岛海岸食品有限公司")
    visitor.fill("input[name=phone]", "136 5555 6666")
    visitor.fill("input[name=email]", "sun@haian.test")
    visitor.fill("textarea[name=message]", "We would like a demo next week.")
    visitor.click("[data-testid=public-submit]")
    expect(visitor.locator("[data-testid=public-thanks]")).to_contain_text("Thank you, we will call you back today.")
    lead = Lead.objects.get()
    assert (lead.owner, lead.origin, lead.score) == (rep, "web_form", 35)

    # The rep scores, qualifies and converts it.
    page = e2e_new_page(viewport="desktop", locale="en-US")
    log_in(page, e2e_base_url, "rep@e2e-lead.test", "Rep-pass-e2e-1")
    page.goto("/leads/")
    row = page.locator(f"[data-lead='{lead.pk}']")
    expect(row.locator("[data-testid=lead-score]")).to_have_text("35")
    row.locator("a").first.click()
    expect(page.locator("[data-testid=score]")).to_have_text("35")
    expect(page.locator("[data-testid=score-breakdown]")).to_contain_text("Message contains “demo”")
    page.click("[data-testid=status-qualified]")
    expect(page.locator("[data-testid=lead-status]")).to_have_text("Qualified")
    page.click("[data-testid=convert-lead]")
    form = page.locator("[data-testid=convert-form]")
    expect(form.locator("input[name=customer_name]")).to_have_value("青岛海岸食品有限公司")
    form.locator("input[name=opportunity_name]").fill("海岸食品 · 首年订阅")
    form.locator("input[name=opportunity_amount]").fill("-100")
    form.locator("[data-testid=convert-submit]").click()
    expect(page.locator(".invalid-feedback")).to_contain_text("The amount cannot be negative.")
    assert not Customer.objects.exists() and not Opportunity.objects.exists()
    page.locator("input[name=opportunity_amount]").fill("36000")
    page.locator("[data-testid=convert-submit]").click()
    expect(page.locator("[data-testid=opportunity-name]")).to_have_text("海岸食品 · 首年订阅")
    opportunity = Opportunity.objects.get()
    customer = opportunity.customer
    assert customer.name == "青岛海岸食品有限公司" and customer.owner == rep
    assert customer.contacts.get().mobile == "+8613655556666"
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.opportunity == opportunity

    # On the board: to the next stage, then to won. Each drop is saved at once.
    stages = list(Stage.objects.filter(pipeline=opportunity.pipeline).ordered())
    page.goto("/opportunities/board/")
    card = page.locator(f"[data-testid=card-{opportunity.pk}]")
    expect(page.locator(f"[data-testid=column-{stages[0].pk}]")).to_contain_text("海岸食品")
    drag(page, card, page.locator(f"[data-testid=column-{stages[1].pk}]"))
    expect(page.locator("[data-testid=board-toast]")).to_contain_text("moved to")
    expect(page.locator(f"[data-testid=column-{stages[1].pk}] [data-testid=card-{opportunity.pk}]")).to_be_visible()
    expect(page.locator(f"[data-testid=column-{stages[1].pk}] [data-testid=column-count]")).to_have_text("1")
    opportunity.refresh_from_db()
    assert opportunity.stage == stages[1]
    won = next(s for s in stages if s.kind == "won")
    drag(page, page.locator(f"[data-testid=card-{opportunity.pk}]"), page.locator(f"[data-testid=column-{won.pk}]"))
    expect(page.locator("[data-testid=board-toast]")).to_contain_text("is won; its order is recorded")
    expect(page.locator(f"[data-testid=column-{won.pk}] [data-testid=column-total]")).to_contain_text("36,000")
    opportunity.refresh_from_db()
    order = Order.objects.get()
    assert opportunity.status == "won" and opportunity.order == order and order.amount == Decimal("36000")
    assert [c.to_stage for c in StageChange.objects.filter(opportunity=opportunity).order_by("at", "pk")] == [
        stages[0],
        stages[1],
        won,
    ]

    # The order is on the customer page.
    page.goto(f"/customers/{customer.pk}/")
    expect(page.locator("[data-testid=customer-orders]")).to_contain_text("36,000.00")
    expect(page.locator("[data-testid=customer-opportunities]")).to_contain_text("海岸食品 · 首年订阅")
    customer.refresh_from_db()
    assert customer.last_deal_at is not None


def test_a_refused_drag_goes_back_and_lost_asks_why(e2e_page, e2e_base_url):
    tenant, admin, rep = setup_company("e2e-board")
    pipeline = ensure_default_pipeline(tenant)

    customer = customer_create(
        acting_user=rep, data={"name": "南京紫金电子有限公司"}, contact={"name": "赵六", "mobile": "13900001111"}
    )
    free = opportunity_create(
        acting_user=rep, customer=customer, name="待报价项目", pipeline=pipeline, amount=Decimal("0")
    )
    stages = list(Stage.objects.filter(pipeline=pipeline).ordered())
    won = next(s for s in stages if s.kind == "won")
    lost = next(s for s in stages if s.kind == "lost")
    page = e2e_page
    log_in(page, e2e_base_url, "rep@e2e-board.test", "Rep-pass-e2e-1")
    page.goto("/opportunities/board/")
    first_column = page.locator(f"[data-testid=column-{stages[0].pk}]")
    card = page.locator(f"[data-testid=card-{free.pk}]")

    # Won without an amount is refused: the card comes back and the reason is shown.
    drag(page, card, page.locator(f"[data-testid=column-{won.pk}]"))
    expect(page.locator("[data-testid=board-toast]")).to_contain_text("Enter the amount")
    expect(first_column.locator(f"[data-testid=card-{free.pk}]")).to_be_visible()
    free.refresh_from_db()
    assert free.stage == stages[0] and not Order.objects.exists()

    # Lost asks why; cancelling puts the card back and saves nothing.
    drag(page, card, page.locator(f"[data-testid=column-{lost.pk}]"))
    modal = page.locator("#lost-modal")
    # Fully open before it is answered: Bootstrap ignores a close asked for while the modal still fades in.
    expect(modal).to_have_attribute("data-state", "shown")
    modal.locator("[data-bs-dismiss=modal]").last.click()
    expect(modal).to_be_hidden()
    expect(first_column.locator(f"[data-testid=card-{free.pk}]")).to_be_visible()
    free.refresh_from_db()
    assert free.status == "open"

    drag(page, page.locator(f"[data-testid=card-{free.pk}]"), page.locator(f"[data-testid=column-{lost.pk}]"))
    expect(modal).to_have_attribute("data-state", "shown")
    modal.locator("[data-testid=lost-submit]").click()  # no reason yet: the form says so
    expect(modal.locator(".invalid-feedback")).to_be_visible()
    modal.locator("[data-testid=lost-reason]").fill("选择了竞品")
    modal.locator("[data-testid=lost-submit]").click()
    expect(page.locator("[data-testid=board-toast]")).to_contain_text("moved to Lost")
    expect(page.locator(f"[data-testid=column-{lost.pk}] [data-testid=card-{free.pk}]")).to_contain_text("选择了竞品")
    free.refresh_from_db()
    assert (free.status, free.lost_reason) == ("lost", "选择了竞品")
    # Saved, not just moved on screen: a reload shows it in the lost column.
    page.reload()
    expect(page.locator(f"[data-testid=column-{lost.pk}] [data-testid=card-{free.pk}]")).to_be_visible()
