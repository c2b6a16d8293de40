"""Customer-care pages: campaigns (form, errors, sandboxed placeholders), preview, send-me-a-test, the log, the
customer page's panel, the contact form's lunar birthday and consent, and the one-click unsubscribe link."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from crm.models import OutboundMessage
from customers.models import Contact
from marketing.models import CareCampaign, Greeting
from marketing.services.greeting import greetings_run, unsubscribe_token

from .helpers import at_shanghai, birthday_campaign, make_contact

CAMPAIGN_POST = {
    "name": "中秋问候",
    "kind": "holiday",
    "is_active": "on",
    "date_kind": "lunar",
    "lunar_preset": "mid_autumn",
    "send_hour": "9",
    "channel": "email",
    "email_subject": "{{ contact.name }}，中秋快乐",
    "email_body": "{{ customer.name }}的{{ contact.name }}：中秋快乐！券码 {{ coupon.code }}",
    "sms_body": "",
    "coupon_kind": "percent",
    "coupon_value": "10",
    "coupon_min_order": "0",
    "coupon_valid_days": "15",
}


@pytest.mark.django_db
def test_an_admin_creates_a_lunar_holiday_campaign(world_a, client_for):
    client = client_for(world_a.admin)
    response = client.post(reverse("marketing:campaign_create"), CAMPAIGN_POST)
    campaign = CareCampaign.objects.get()
    assert response.status_code == 302 and response.url == reverse("marketing:campaign_detail", args=[campaign.pk])
    assert (campaign.tenant, campaign.date_kind, campaign.month, campaign.day) == (world_a.tenant, "lunar", 8, 15)
    page = client.get(reverse("marketing:campaign_list"))
    assert "中秋问候" in page.content.decode()


@pytest.mark.django_db
def test_placeholders_outside_the_sandbox_are_refused_and_nothing_is_saved(world_a, client_for):
    client = client_for(world_a.manager)
    post = {**CAMPAIGN_POST, "email_body": "{{ contact.customer.owner.password }} {% load static %}"}
    response = client.post(reverse("marketing:campaign_create"), post)
    assert response.status_code == 422
    assert "contact.customer.owner.password" in response.content.decode()
    assert not CareCampaign.objects.exists()


@pytest.mark.django_db
def test_one_birthday_campaign_per_company(world_a, client_for):
    birthday_campaign(world_a.tenant)
    post = {**CAMPAIGN_POST, "name": "第二个生日", "kind": "birthday"}
    response = client_for(world_a.admin).post(reverse("marketing:campaign_create"), post)
    assert response.status_code == 422
    assert CareCampaign.objects.count() == 1


@pytest.mark.django_db
def test_a_holiday_needs_a_real_date(world_a, client_for):
    post = {**CAMPAIGN_POST, "date_kind": "gregorian", "lunar_preset": "", "month": "2", "day": "30"}
    response = client_for(world_a.admin).post(reverse("marketing:campaign_create"), post)
    assert response.status_code == 422 and not CareCampaign.objects.exists()


@pytest.mark.django_db
def test_reps_and_agents_have_no_care_pages(world_a, client_for):
    campaign = birthday_campaign(world_a.tenant)
    for user in (world_a.rep1, world_a.agent):
        client = client_for(user)
        assert client.get(reverse("marketing:campaign_list")).status_code == 403
        assert client.get(reverse("marketing:campaign_detail", args=[campaign.pk])).status_code == 403


@pytest.mark.django_db
def test_another_tenants_campaign_answers_404(world_a, world_b, client_for):
    campaign = birthday_campaign(world_b.tenant)
    client = client_for(world_a.admin)
    for name in ("marketing:campaign_detail", "marketing:campaign_edit"):
        assert client.get(reverse(name, args=[campaign.pk])).status_code == 404
    assert client.post(reverse("marketing:campaign_edit", args=[campaign.pk]), CAMPAIGN_POST).status_code == 404
    assert client.post(reverse("marketing:campaign_test", args=[campaign.pk])).status_code == 404
    campaign.refresh_from_db()
    assert campaign.name == "生日祝福"


@pytest.mark.django_db
def test_preview_renders_with_a_real_contact_and_send_me_a_test(
    world_a, client_for, django_capture_on_commit_callbacks, monkeypatch
):
    from crm.services.notification import message_deliver

    monkeypatch.setattr("crm.tasks.deliver_message.apply_async", lambda args, **o: message_deliver(message_id=args[1]))
    campaign = birthday_campaign(world_a.tenant)
    contact = make_contact(world_a.rep1, "预览用的联系人", birthday=dt.date(1990, 5, 5))
    client = client_for(world_a.admin)
    page = client.get(reverse("marketing:campaign_detail", args=[campaign.pk]), {"contact": contact.pk})
    html = page.content.decode()
    assert "预览用的联系人，生日快乐！" in html and "预览用的联系人的公司" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("marketing:campaign_test", args=[campaign.pk]), {"contact": contact.pk})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[world_a.admin.email]]
    assert "预览用的联系人" in mail.outbox[0].subject
    assert not Greeting.objects.exists()


@pytest.mark.django_db
def test_send_me_a_test_sends_the_sms_to_the_users_own_mobile(
    world_a, client_for, django_capture_on_commit_callbacks, monkeypatch
):
    from crm.services import notification
    from crm.services.notification import message_deliver

    monkeypatch.setattr("crm.tasks.deliver_message.apply_async", lambda args, **o: message_deliver(message_id=args[1]))
    campaign = birthday_campaign(world_a.tenant)
    contact = make_contact(world_a.rep1, "短信预览", birthday=dt.date(1990, 5, 5))
    admin = world_a.admin
    admin.language = "en"
    admin.phone = "+8613800138123"
    admin.save(update_fields=["language", "phone"])
    client = client_for(admin)
    url = reverse("marketing:campaign_test", args=[campaign.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"contact": contact.pk}, follow=True)
    assert [m.to for m in mail.outbox] == [[admin.email]]
    assert [m["to"] for m in notification.sms_outbox] == ["+8613800138123"]
    assert notification.sms_outbox[0]["body"].startswith("短信预览生日快乐！券码")
    html = response.content.decode()
    assert "A test SMS is on its way to +86 138 0013 8123." in html

    # No mobile: the email goes, and the page says why the SMS did not.
    admin.phone = ""
    admin.save(update_fields=["phone"])
    mail.outbox.clear()
    notification.sms_outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"contact": contact.pk}, follow=True)
    assert len(mail.outbox) == 1 and not notification.sms_outbox
    assert "Your profile has no mobile number: add one to get the SMS test." in response.content.decode()

    # An SMS-only campaign and no mobile: nothing is sent, the reason is shown.
    campaign.email_subject = campaign.email_body = ""
    campaign.save(update_fields=["email_subject", "email_body"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"contact": contact.pk}, follow=True)
    assert not mail.outbox and not notification.sms_outbox
    assert "Your profile has no mobile number" in response.content.decode()


@pytest.mark.django_db
def test_day_preview_lists_who_is_greeted_and_who_is_skipped(world_a, client_for):
    birthday_campaign(world_a.tenant)
    make_contact(world_a.rep1, "会收到的", birthday=dt.date(1990, 12, 24))
    make_contact(world_a.rep1, "没同意的", birthday=dt.date(1991, 12, 24), consent=False)
    make_contact(world_a.rep1, "别的日子", birthday=dt.date(1991, 12, 25))
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])
    response = client_for(world_a.admin).get(reverse("marketing:preview"), {"day": "2026-12-24"})
    html = response.content.decode()
    assert "会收到的" in html and "没同意的" in html and "别的日子" not in html
    assert "Skipped: no marketing consent" in html and "Will be greeted" in html
    # A bad day falls back to today, never a 500.
    assert client_for(world_a.admin).get(reverse("marketing:preview"), {"day": "9999-99-99"}).status_code == 200


@pytest.mark.django_db
def test_a_manager_sees_only_greetings_of_customers_they_may_see(world_a, world_b, client_for):
    birthday_campaign(world_a.tenant)
    other = world_b
    make_contact(world_a.rep1, "销售一的客户", birthday=dt.date(1990, 11, 29))
    greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))
    birthday_campaign(other.tenant)
    make_contact(other.rep1, "B公司客户", birthday=dt.date(1990, 11, 29))
    greetings_run(tenant_id=other.tenant.pk, now=at_shanghai(2026, 11, 29))
    html = client_for(world_a.manager).get(reverse("marketing:log")).content.decode()
    assert "销售一的客户" in html and "B公司客户" not in html


@pytest.mark.django_db
def test_pages_run_a_bounded_number_of_queries(world_a, client_for, django_assert_max_num_queries):
    campaign = birthday_campaign(world_a.tenant)
    for i in range(12):
        CareCampaign.objects.create(
            tenant=world_a.tenant, name=f"节日{i}", kind="holiday", month=1, day=1, email_subject="s", email_body="b"
        )
    for i in range(60):
        make_contact(world_a.rep1, f"寿星{i}", birthday=dt.date(1990, 11, 29))
    greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))
    client = client_for(world_a.admin)
    for url, params in (
        (reverse("marketing:campaign_list"), {}),
        (reverse("marketing:log"), {}),
        (reverse("marketing:preview"), {"day": "2026-11-29"}),
        (reverse("marketing:campaign_detail", args=[campaign.pk]), {}),
    ):
        with django_assert_max_num_queries(30):
            assert client.get(url, params).status_code == 200


@pytest.mark.django_db
def test_the_customer_page_shows_greetings_and_coupons(world_a, client_for):
    birthday_campaign(world_a.tenant)
    contact = make_contact(world_a.rep1, "有券的客户", birthday=dt.date(1990, 11, 29))
    greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))
    html = client_for(world_a.rep1).get(reverse("customers:detail", args=[contact.customer_id])).content.decode()
    assert 'data-testid="customer-care"' in html
    assert Greeting.objects.get().coupon.code in html
    # The tenant speaks zh-hans.
    assert "优惠券：已发放 1 张，已核销 0 张" in html


@pytest.mark.django_db
def test_the_contact_form_takes_a_lunar_birthday_and_consent(world_a, client_for):
    contact = make_contact(world_a.rep1, "农历客户", consent=False)
    url = reverse("customers:contact_edit", args=[contact.customer_id, contact.pk])
    client = client_for(world_a.rep1)
    post = {
        "name": "农历客户",
        "lunar_birthday_month": "8",
        "lunar_birthday_day": "",
        "marketing_consent": "on",
        "is_primary": "on",
    }
    assert client.post(url, post).status_code == 422
    post["lunar_birthday_day"] = "15"
    assert client.post(url, post).status_code == 302
    contact.refresh_from_db()
    assert (contact.lunar_birthday_month, contact.lunar_birthday_day, contact.marketing_consent) == (8, 15, True)
    assert contact.consent_at is not None and world_a.rep1.full_name in contact.consent_source


@pytest.mark.django_db
def test_the_unsubscribe_link_needs_no_login_and_works_once(world_a, client):
    contact = make_contact(world_a.rep1, "要退订的")
    url = reverse("marketing:unsubscribe", args=[unsubscribe_token(contact)])
    assert client.get(url).status_code == 200
    contact.refresh_from_db()
    assert contact.unsubscribed_at is None
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and 'data-testid="unsubscribed"' in response.content.decode()
    contact.refresh_from_db()
    first = contact.unsubscribed_at
    assert first is not None and contact.unsubscribe_source == "unsubscribe link"
    client.post(url)
    contact.refresh_from_db()
    assert contact.unsubscribed_at == first
    assert client.get(reverse("marketing:unsubscribe", args=["forged-token"])).status_code == 404


@pytest.mark.django_db
def test_an_unsubscribed_contact_gets_no_more_greetings(world_a, client):
    birthday_campaign(world_a.tenant)
    contact = make_contact(world_a.rep1, "退订后", birthday=dt.date(1990, 11, 29))
    client.post(reverse("marketing:unsubscribe", args=[unsubscribe_token(contact)]))
    greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))
    assert Greeting.objects.get().status == "unsubscribed"
    assert not OutboundMessage.objects.exists()
    assert Contact.objects.get(pk=contact.pk).unsubscribed_at is not None
