"""Releasing a customer in a browser, at phone width: the rep chooses the pool (the home pool preselected) and a
reason, and lands on the customer list, where the released customer is no longer theirs."""

import pytest
from playwright.sync_api import expect

from customers.models import Pool, PoolTeam
from customers.services.customer import customer_create

from .test_pool import log_in, make_company

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_release_into_a_chosen_pool_with_a_reason(e2e_new_page, e2e_base_url):
    tenant, _manager, rep1, _rep2 = make_company()
    east = Pool.objects.create(tenant=tenant, name="华东公海")
    PoolTeam.objects.create(tenant=tenant, pool=east, team=rep1.team)
    customer = customer_create(acting_user=rep1, data={"name": "要释放的公司"})
    page = e2e_new_page(viewport="phone")
    log_in(page, e2e_base_url, rep1.email)
    page.goto(f"/customers/{customer.pk}/")
    page.click("[data-testid=release]")
    pool_select = page.locator("select[name=pool]")
    expect(pool_select).to_have_value(str(customer.pool_id))
    # No reason: refused on the form, nothing released.
    page.click("[data-testid=release-submit]")
    expect(page.locator(".invalid-feedback, .text-danger").first).to_be_visible()
    pool_select.select_option(str(east.pk))
    page.select_option("select[name=reason_choice]", "unreachable")
    page.fill("textarea[name=reason]", "电话一直无人接听")
    page.click("[data-testid=release-submit]")
    expect(page).to_have_url(f"{e2e_base_url}/customers/")
    expect(page.locator("body")).to_contain_text("华东公海")
    customer.refresh_from_db()
    assert customer.owner_id is None and customer.pool_id == east.pk
