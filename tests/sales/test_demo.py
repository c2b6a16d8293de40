"""The demo data of the sales app: present after seed_demo, idempotent, and showing what the issue promises."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Max
from django.utils import timezone

from crm.models import Tenant
from customers.models import Customer, PersonalDataReveal
from sales.models import (
    Appointment,
    Contract,
    FollowUp,
    Lead,
    LeadPoolRule,
    Order,
    OrderLine,
    Product,
    Quote,
    Task,
)
from sales.selectors.calendar import calendar_data
from sales.selectors.lead_pool import with_lead_fallback_at


def counts():
    return [m.objects.count() for m in (FollowUp, Task, Appointment, Order, OrderLine)]


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_covers_the_daily_work(capsys):
    call_command("seed_demo")
    first = counts()
    assert all(first), first
    call_command("seed_demo")
    assert counts() == first
    capsys.readouterr()

    demo = Tenant.objects.get(slug="demo")
    now = timezone.now()
    tasks = Task.objects.filter(tenant=demo)
    assert tasks.filter(done_at__isnull=True, due_at__lt=now).exists()  # overdue
    # Every lead the demo made is scored, as the app scores new leads (those of the pools and campaigns too).
    assert not Lead.objects.filter(tenant=demo, scored_at__isnull=True).exclude(status="converted").exists()
    assert tasks.filter(remind_at__gt=now, remind_at__lt=now + timedelta(minutes=10), reminder_sent_at=None).exists()
    assert not tasks.filter(remind_at__lte=now, reminder_sent_at=None, done_at=None).exists()  # no flood at start
    # Every follow-up and order moved its customer's facts, through the customers services.
    on_customers = FollowUp.objects.filter(tenant=demo, customer__isnull=False)  # leads' follow-ups have none
    for row in on_customers.values("customer").annotate(latest=Max("happened_at"))[:20]:
        assert Customer.objects.get(pk=row["customer"]).last_followed_up_at >= row["latest"]
    # Every customer with a counted order has its last deal; a discount waiting for approval or refused counts not.
    counted = Order.objects.filter(tenant=demo).counted().values("customer_id")
    assert Customer.objects.filter(tenant=demo, pk__in=counted, last_deal_at__isnull=True).count() == 0
    discounted = dict(Order.objects.filter(tenant=demo, reference__startswith="ZK-").values_list("reference", "status"))
    assert discounted == {
        "ZK-2026-001": "confirmed",
        "ZK-2026-002": "confirmed",
        "ZK-2026-003": "awaiting",
        "ZK-2026-004": "rejected",
    }
    # This week holds an overlap the calendar flags.
    rep1 = demo.users.get(email="rep1@demo.local")
    today = timezone.localtime(now, demo.tzinfo).date()
    start = today - timedelta(days=today.weekday())
    data = calendar_data(user=rep1, tenant=demo, people=[rep1], start=start, end=start + timedelta(days=7))
    items = [item for cell in data["cells"].values() for item in cell if item.is_appointment]
    assert any(item.conflict for item in items)
    assert Appointment.objects.filter(tenant=demo, attendee_links__isnull=False).exists()
    # The privacy log shows managers' reveals of their reps' customers' phones and emails.
    reveals = PersonalDataReveal.objects.filter(tenant=demo, lead_id__isnull=True)
    assert reveals.exists() and all(r.customer.owner_id != r.user_id for r in reveals.select_related("customer"))
    # And their reveals of their reps' leads' phones.
    lead_reveals = PersonalDataReveal.objects.filter(tenant=demo, lead_id__isnull=False)
    owners = dict(Lead.objects.filter(pk__in=lead_reveals.values("lead_id")).values_list("pk", "owner_id"))
    assert lead_reveals.exists() and all(owners[r.lead_id] not in (None, r.user_id) for r in lead_reveals)
    # The catalogue and quotes in every state of their cycle: sent, approved then sent, waiting, revised after a no.
    quotes = Quote.objects.filter(tenant=demo)
    assert Product.objects.filter(tenant=demo).count() == 5
    assert {"sent", "pending", "revised", "draft"} <= set(quotes.values_list("status", flat=True))
    assert quotes.filter(version=2, previous__status="revised").exists()
    # The default lead pool has a rule per product line, and held leads of that product line.
    rule = LeadPoolRule.objects.get(tenant=demo, product__isnull=False)
    assert Lead.objects.filter(tenant=demo, pool=rule.pool, product=rule.product, owner__isnull=False).exists()
    # And a rule per lead tag, with a held lead of that tag due to fall back within days (the date on the list).
    tag_rule = LeadPoolRule.objects.get(tenant=demo, tag__isnull=False)
    hot = with_lead_fallback_at(Lead.objects.filter(tenant=demo, tags=tag_rule.tag, owner__isnull=False), demo)
    assert any(lead.fallback_at and lead.fallback_at < now + timedelta(days=tag_rule.no_followup_days) for lead in hot)
    # The full cycle: a contract in effect, one instalment paid, one late, one to come.
    contract = Contract.objects.get(tenant=demo, status="active")
    assert contract.quote.status == "accepted" and contract.receipts.count() == 1
    today = timezone.localtime(now, demo.tzinfo).date()
    late = [i for i in contract.instalments.all() if i.due_on < today and i.received < i.amount]
    assert len(late) == 1
