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
