"""The funnel's demo data: present after seed_demo, idempotent, fast, and showing what the issue promises."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Tenant
from sales.models import FollowUp, Lead, LeadScoringRule, LeadWebForm, Opportunity, Pipeline, Stage, StageChange


def counts():
    return [m.objects.count() for m in (Lead, LeadScoringRule, LeadWebForm, Pipeline, Stage, Opportunity, StageChange)]


@pytest.mark.django_db
def test_seed_demo_gives_a_funnel_to_look_at(capsys):
    with CaptureQueriesContext(connection) as queries:
        call_command("seed_demo")
    # Fast on any machine means set-based: a bounded number of statements (about 4,100 today, with the service
    # desk, lead pools, campaigns, surveys, the knowledge base, custom fields, exchange rates and the funnel facts
    # that each demo opportunity's stage moves keep up to date), never a clock.
    assert len(queries) < 5000, len(queries)
    first = counts()
    assert all(first), first
    call_command("seed_demo")
    assert counts() == first
    capsys.readouterr()

    demo = Tenant.objects.get(slug="demo")
    leads = Lead.objects.filter(tenant=demo)
    assert set(leads.values_list("status", flat=True)) >= {"new", "contacted", "qualified", "disqualified", "converted"}
    assert leads.filter(is_duplicate=True, duplicate_of_customer__isnull=False).exists()
    assert leads.filter(is_duplicate=True, duplicate_of_lead__isnull=False).exists()
    assert leads.filter(owner__isnull=True).exists() and leads.filter(score__gt=0).exists()
    assert FollowUp.objects.filter(lead__tenant=demo).exists()
    assert LeadWebForm.objects.get(tenant=demo).is_enabled
    assert Pipeline.objects.filter(tenant=demo).count() == 2
    opportunities = Opportunity.objects.filter(tenant=demo)
    assert set(opportunities.values_list("status", flat=True)) == {"open", "won", "lost"}
    assert opportunities.values("stage").distinct().count() >= 5
    for won in opportunities.filter(status="won"):
        assert won.order and won.order.amount == won.amount
        assert won.customer.last_deal_at is not None
    # Every opportunity's history ends where it is.
    for opportunity in opportunities:
        assert opportunity.stage_changes.order_by("at", "pk").last().to_stage_id == opportunity.stage_id
