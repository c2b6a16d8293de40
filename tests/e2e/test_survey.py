"""A customer answers the satisfaction survey of a resolved ticket on a phone: the signed link opens the page in the
company's language (no login), the page fits the phone's width, a low rating and a comment are sent, the thank-you
page follows, and the answer is the survey's."""

import pytest
from playwright.sync_api import expect

from crm.models import User
from crm.services.tenant import tenant_create
from customers.models import Contact
from customers.services.customer import customer_create
from service.models import SatisfactionSurvey
from service.services.survey import CSAT, survey_token
from service.services.ticket import ticket_create, ticket_set_status

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_a_customer_answers_the_survey_at_phone_width(e2e_new_page, redis_test_db):
    tenant = tenant_create(
        name="E2E 满意度公司",
        slug="e2e-csat",
        admin_email="admin@e2ecsat.test",
        admin_password="Adm1n-pass-e2e",
        language="zh-hans",
    )
    admin = User.objects.get(email="admin@e2ecsat.test")
    customer = customer_create(
        acting_user=admin,
        data={"name": "云帆科技有限公司"},
        contact={"name": "李娜", "mobile": "13800138000", "email": "li.na@yunfan.example"},
    )
    contact = Contact.objects.get(customer=customer, is_primary=True)
    ticket = ticket_create(
        tenant=tenant,
        acting_user=None,
        customer=customer,
        contact=contact,
        subject="发票抬头错误",
        description="请重开",
    )
    ticket_set_status(acting_user=admin, ticket=ticket, status="resolved")
    survey = SatisfactionSurvey.objects.get(ticket=ticket)

    page = e2e_new_page(viewport="phone", locale="en-US")
    page.goto(f"/s/{survey_token(CSAT, tenant.pk, survey.pk)}/")
    # The company's language, whatever the browser's.
    expect(page.get_by_test_id("survey-title")).to_have_text("您对我们的服务满意吗？")
    expect(page.get_by_text(ticket.display_number, exact=False)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("label[for=id_rating_3]").click()  # the fourth choice: 2 · 不满意
    page.fill("textarea[name=comment]", "等了三天才有人回复")
    page.get_by_test_id("survey-submit").click()
    expect(page.get_by_test_id("survey-thanks")).to_be_visible()
    survey.refresh_from_db()
    assert (survey.rating, survey.comment) == (2, "等了三天才有人回复")
    # Back on the link: the answer is shown and may be changed.
    page.goto(f"/s/{survey_token(CSAT, tenant.pk, survey.pk)}/")
    expect(page.get_by_test_id("survey-answered")).to_be_visible()
    expect(page.locator("#id_rating_3")).to_be_checked()
