"""Customer care in the demo: campaigns, consent, birthdays today and tomorrow (one lunar each) in the demo tenant,
last week's greetings with a redeemed coupon; idempotent; and today's preview finds the birthdays."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse

from crm.models import Tenant, User
from crm.workcalendar.selectors import local_today
from customers.models import Contact
from marketing.models import CareCampaign, Coupon, Greeting
from marketing.selectors.care import birthday_parts
from marketing.selectors.occasion import lunar_day


def counts():
    return [m.objects.count() for m in (CareCampaign, Greeting, Coupon)] + [
        Contact.objects.filter(marketing_consent=True).count()
    ]


@pytest.mark.django_db
def test_seed_demo_shows_customer_care(client, capsys):
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    capsys.readouterr()

    demo = Tenant.objects.get(slug="demo")
    assert set(CareCampaign.objects.filter(tenant=demo).values_list("kind", flat=True)) == {"birthday", "holiday"}
    today = local_today(demo)
    for day in (today, today + dt.timedelta(days=1)):
        due = [list(part.contacts) for part in birthday_parts(demo, day)]
        assert len(due[0]) >= 3 and len(due[1]) >= 1, day
        lunar = lunar_day(day)
        assert due[1][0].lunar_birthday_month == lunar.month
    assert Contact.objects.filter(tenant=demo, unsubscribed_at__isnull=False).exists()
    assert Coupon.objects.filter(tenant=demo, redeemed_at__isnull=False, order__isnull=False).count() == 1
    assert Greeting.objects.filter(tenant=demo, message__status="sent").count() == 6

    client.force_login(User.objects.get(email="admin@demo.local"))
    assert client.get(reverse("marketing:campaign_list")).status_code == 200
    preview = client.get(reverse("marketing:preview"), {"day": today.isoformat()}).content.decode()
    assert preview.count('data-testid="preview-contact"') >= 4


@pytest.mark.django_db
def test_the_demos_spring_festival_is_the_lunar_new_year_in_years_the_holiday_calendar_does_not_know(
    world_a, client_for
):
    from django.utils import formats, translation

    from marketing.demo import HOLIDAYS
    from marketing.selectors.occasion import holiday_on, next_occasion

    values = next(v for v in HOLIDAYS if v["name"] == "春节拜年")
    campaign = CareCampaign.objects.create(tenant=world_a.tenant, **values)
    assert (campaign.date_kind, campaign.month, campaign.day) == ("lunar", 1, 1)
    # 正月初一 of 2027 and 2028, which chinesecalendar 1.11 has no holidays for: computed, with no warning.
    assert next_occasion(campaign, dt.date(2026, 11, 29)) == dt.date(2027, 2, 6)
    assert next_occasion(campaign, dt.date(2027, 2, 7)) == dt.date(2028, 1, 26)
    assert holiday_on(campaign, dt.date(2027, 2, 6)).warning == ""
    assert holiday_on(campaign, dt.date(2027, 2, 6)).due

    client = client_for(world_a.admin)
    page = client.get(reverse("marketing:campaign_list")).content.decode()
    expected = next_occasion(campaign, local_today(world_a.tenant))
    with translation.override("zh-hans"):
        shown = formats.date_format(expected, "SHORT_DATE_FORMAT")
    assert shown in page and 'data-testid="calendar-warning"' not in page
    # The edit form shows it as the 春节 preset.
    edit = client.get(reverse("marketing:campaign_edit", args=[campaign.pk])).content.decode()
    assert '<option value="spring_festival" selected>' in edit
