"""An admin writes an assignment rule in the browser, reads its live dry run (htmx, nothing saved), saves and
enables it, and applies it to the backlog with one confirmation."""

from collections import Counter

import pytest
from playwright.sync_api import expect

from crm.models import Team, User
from crm.services.tenant import tenant_create
from customers.models import AssignmentRule, Customer, OwnershipEvent
from customers.services.customer import customer_create
from customers.services.tenant import default_pool

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_admin_reads_a_dry_run_then_enables_and_applies_the_rule(e2e_page, e2e_base_url):
    tenant = tenant_create(
        name="E2E 分配公司",
        slug="e2e-assign",
        admin_email="admin@e2ea.test",
        admin_password="Adm1n-pass-e2e",
        language="en",
    )
    team = Team.objects.get(tenant=tenant, parent=None)
    admin = User.objects.get(email="admin@e2ea.test")
    reps = [
        User.objects.create_user(
            email=f"rep{i}@e2ea.test", password=None, tenant=tenant, full_name=name, roles=["rep"], team=team
        )
        for i, name in enumerate(["王一", "李二"])
    ]
    pool = default_pool(tenant)
    for i, source in enumerate(["官网", "官网", "官网", "电话"]):
        customer_create(acting_user=admin, data={"name": f"待分配客户{i}", "source": source}, owner=None, to_pool=pool)
    page = e2e_page
    page.goto("/login/")
    page.fill("input[name=username]", "admin@e2ea.test")
    page.fill("input[name=password]", "Adm1n-pass-e2e")
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(f"{e2e_base_url}/")

    page.goto("/settings/")
    page.get_by_role("link", name="Assignment rules").first.click()
    page.click("[data-testid=new-rule]")
    page.fill("input[name=name]", "Website customers")
    page.fill("input[name=sources]", "官网")
    page.select_option("select[name=team]", str(team.pk))
    # The dry run follows the form without saving anything.
    summary = page.locator("[data-testid=dry-run-summary]")
    expect(summary).to_contain_text("It would give 3 records to reps.")
    expect(page.locator("[data-testid=dry-run-reps]")).to_contain_text("王一")
    expect(page.locator("[data-testid=dry-run-reps]")).to_contain_text("李二")
    expect(page.locator("[data-testid=dry-run-rows]")).not_to_contain_text("待分配客户3")
    page.fill("input[name=sources]", "电话")
    expect(summary).to_contain_text("It would give 1 record to a rep.")
    page.fill("input[name=sources]", "官网")
    expect(summary).to_contain_text("It would give 3 records to reps.")
    assert not AssignmentRule.objects.filter(tenant=tenant).exists()

    page.click("[data-testid=save-rule]")
    expect(page.locator("h1")).to_contain_text("Dry run of Website customers")
    expect(page.locator("[data-testid=dry-run]")).to_contain_text("It would give 3 records to reps.")
    page.click("[data-testid=enable-rule]")
    rule = AssignmentRule.objects.get(tenant=tenant)
    expect(page.locator(f"[data-testid=rule-row-{rule.pk}]")).to_contain_text("Enabled")
    assert not Customer.objects.filter(tenant=tenant, owner__isnull=False).exists()  # enabling touches no backlog

    page.click(f"[data-testid=apply-{rule.pk}]")
    page.click("[data-testid=apply-submit]")  # not confirmed: refused, nothing given
    expect(page.locator("[data-testid=form-errors]")).to_contain_text("Tick the box to confirm.")
    assert not Customer.objects.filter(tenant=tenant, owner__isnull=False).exists()
    page.check("[data-testid=apply-confirm]")
    page.click("[data-testid=apply-submit]")
    expect(page.locator(".alert-success")).to_contain_text("3 records were given out by rule Website customers")
    # Round-robin over the two reps: one gets two, the other one.
    owners = Counter(Customer.objects.filter(tenant=tenant, owner__isnull=False).values_list("owner", flat=True))
    assert set(owners) == {r.pk for r in reps} and sorted(owners.values()) == [1, 2]
    assert OwnershipEvent.objects.filter(tenant=tenant, reason="assign", note="Website customers").count() == 3
