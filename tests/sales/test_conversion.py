"""Converting a qualified lead, in one transaction, into a customer (new, its identifiers checked as on creation,
or an existing one the user may change), its contact and optionally an opportunity; any refusal leaves nothing
behind; two conversions at once convert once."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crm.errors import DomainError
from crm.models import AuditEvent
from customers.models import Contact, Customer
from sales.models import Lead, Opportunity, StageChange
from sales.services.conversion import OpportunityDraft, lead_convert
from sales.services.pipeline import ensure_default_pipeline, pipeline_create

from ..conftest import build_world
from .funnel import make_lead, qualified_lead, stages
from .helpers import make_customer


def counts():
    return Customer.objects.count(), Contact.objects.count(), Opportunity.objects.count(), StageChange.objects.count()


def convert_url(lead):
    return reverse("sales:lead_convert", args=[lead.pk])


def form_data(world, **extra):
    pipeline, _stages = stages(world.tenant)
    data = {
        "mode": "new",
        "customer_name": "",
        "customer_kind": "company",
        "create_opportunity": "on",
        "opportunity_name": "首年订阅",
        "opportunity_pipeline": pipeline.pk,
        "opportunity_stage": "",
        "opportunity_amount": "36000",
        "opportunity_currency": "CNY",
        "opportunity_expected_close_date": (timezone.localdate() + timedelta(days=20)).isoformat(),
    }
    data.update(extra)
    return data


@pytest.mark.django_db
def test_a_qualified_lead_becomes_a_customer_a_contact_and_an_opportunity(world, client_for):
    lead = qualified_lead(
        world.rep1,
        "林经理",
        company="无锡林氏机械有限公司",
        phone="13711112222",
        email="lin@linshi.test",
        title="采购经理",
        source="展会",
        industry="制造业",
    )
    response = client_for(world.rep1).post(convert_url(lead), form_data(world, customer_name="无锡林氏机械有限公司"))
    lead.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == reverse(
        "sales:opportunity_detail", args=[lead.opportunity_id]
    )
    customer, contact, opportunity = lead.customer, lead.contact, lead.opportunity
    assert lead.status == "converted" and lead.converted_by == world.rep1 and lead.converted_at
    assert (customer.name, customer.owner, customer.source, customer.industry) == (
        "无锡林氏机械有限公司",
        world.rep1,
        "展会",
        "制造业",
    )
    assert (contact.customer, contact.name, contact.mobile, contact.email, contact.title) == (
        customer,
        "林经理",
        "+8613711112222",
        "lin@linshi.test",
        "采购经理",
    )
    _pipeline, ordered = stages(world.tenant)
    assert (opportunity.customer, opportunity.contact, opportunity.owner, opportunity.stage) == (
        customer,
        contact,
        world.rep1,
        ordered[0],
    )
    assert opportunity.amount == Decimal("36000") and opportunity.lead == lead
    assert StageChange.objects.get(opportunity=opportunity).from_stage is None
    assert customer.identifiers.filter(kind="phone", value="+8613711112222").exists()
    assert AuditEvent.objects.filter(action="lead.convert", object_id=str(lead.pk)).exists()
    # The lead page links to what it became.
    page = client_for(world.rep1).get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert reverse("customers:detail", args=[customer.pk]) in page and 'data-testid="converted-opportunity"' in page


@pytest.mark.django_db
def test_only_a_qualified_lead_is_converted(world, client_for):
    lead = make_lead(world.rep1, "未合格", company="某公司", phone="13722223333")
    before = counts()
    with pytest.raises(DomainError) as refused:
        lead_convert(acting_user=world.rep1, lead=lead)
    assert "qualify it first" in refused.value.message
    response = client_for(world.rep1).post(convert_url(lead), form_data(world))
    assert response.status_code == 422 and "qualify it first" in response.content.decode()
    assert counts() == before


@pytest.mark.django_db
def test_a_customer_that_exists_refuses_a_new_one_with_who_holds_it_and_nothing_is_left(world, client_for):
    make_customer(world.rep2, "常州远景电气有限公司", mobile="13733334444")
    lead = qualified_lead(world.rep1, "远景的人", company="另一家公司", phone="13733334444")
    before = counts()
    response = client_for(world.rep1).post(convert_url(lead), form_data(world))
    body = response.content.decode()
    assert response.status_code == 422
    assert "This phone number already belongs to an existing customer held by A 销售二." in body
    assert "常州远景电气" not in body
    assert counts() == before
    lead.refresh_from_db()
    assert lead.status == "qualified" and lead.customer is None


@pytest.mark.django_db
def test_any_refusal_on_the_way_rolls_everything_back(world, client_for):
    lead = qualified_lead(world.rep1, "回滚", company="回滚测试有限公司", phone="13744445555")
    before = counts()
    c = client_for(world.rep1)
    response = c.post(convert_url(lead), form_data(world, opportunity_amount="-5"))
    assert response.status_code == 422 and "The amount cannot be negative." in response.content.decode()
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = c.post(convert_url(lead), form_data(world, opportunity_expected_close_date=yesterday))
    assert "The expected close date is in the past" in response.content.decode()
    # A stage of another pipeline.
    other = pipeline_create(acting_user=world.admin, name="续约")
    foreign = other.stages.filter(kind="open").first()
    response = c.post(convert_url(lead), form_data(world, opportunity_stage=foreign.pk))
    assert response.status_code == 422 and "Choose a stage of the pipeline" in response.content.decode()
    assert counts() == before
    assert not Customer.objects.filter(name="回滚测试有限公司").exists()
    lead.refresh_from_db()
    assert lead.status == "qualified"


@pytest.mark.django_db
def test_another_tenants_stage_is_refused(world, world_b, client_for):
    lead = qualified_lead(world.rep1, "跨租户", company="跨租户测试", phone="13755556666")
    ensure_default_pipeline(world_b.tenant)
    _pipeline_b, stages_b = stages(world_b.tenant)
    response = client_for(world.rep1).post(convert_url(lead), form_data(world, opportunity_stage=stages_b[0].pk))
    assert response.status_code == 422
    assert not Customer.objects.filter(name="跨租户测试").exists()


@pytest.mark.django_db
def test_attaching_to_an_existing_customer_adds_or_reuses_its_contact(world, client_for):
    customer = make_customer(world.rep1, "南通海韵纺织有限公司", mobile="13766667777")
    lead = qualified_lead(world.rep1, "海韵新人", phone="13777778888")
    c = client_for(world.rep1)
    response = c.post(convert_url(lead), form_data(world, mode="existing", customer=customer.pk, create_opportunity=""))
    assert response.status_code == 302 and response["Location"] == reverse("customers:detail", args=[customer.pk])
    lead.refresh_from_db()
    assert lead.customer == customer and lead.contact.name == "海韵新人" and lead.opportunity is None
    assert Contact.objects.filter(customer=customer).count() == 2
    # The same person again (their phone is on the customer already): the contact is reused.
    again = qualified_lead(world.rep1, "海韵新人", phone="13777778888")
    assert again.duplicate_of_customer == customer
    lead_convert(acting_user=world.rep1, lead=again, customer=customer)
    again.refresh_from_db()
    assert again.contact == lead.contact and Contact.objects.filter(customer=customer).count() == 2


@pytest.mark.django_db
def test_attaching_needs_a_customer_the_user_may_change(world, client_for):
    theirs = make_customer(world.rep2, "别人的客户有限公司")
    lead = qualified_lead(world.rep1, "想挂靠", phone="13788889999")
    response = client_for(world.rep1).post(convert_url(lead), form_data(world, mode="existing", customer=theirs.pk))
    assert response.status_code == 422 and "Choose a customer you can see." in response.content.decode()
    with pytest.raises(DomainError) as refused:
        lead_convert(acting_user=world.rep1, lead=lead, customer=theirs)
    assert refused.value.field == "customer"
    assert Contact.objects.filter(customer=theirs).count() == 1


@pytest.mark.django_db
def test_a_manager_converts_an_unassigned_lead_for_themself(world):
    lead = qualified_lead(world.manager, "无主合格", owner=None, company="无主合格有限公司", phone="13799990000")
    draft = OpportunityDraft(name="试点项目", pipeline=stages(world.tenant)[0], amount=Decimal("8000"), currency="CNY")
    lead = lead_convert(acting_user=world.manager, lead=lead, opportunity=draft)
    assert lead.customer.owner == world.manager and lead.opportunity.owner == world.manager


@pytest.mark.django_db
def test_the_matched_customer_is_offered_for_attaching(world, client_for):
    customer = make_customer(world.rep1, "镇江金山酒业有限公司", mobile="13712121212")
    lead = qualified_lead(world.rep1, "金山采购", phone="13712121212")
    page = client_for(world.rep1).get(convert_url(lead)).content.decode()
    assert 'value="existing" id="id_mode_1" checked' in page or 'value="existing" checked' in page
    assert f'<option value="{customer.pk}" selected>' in page


@pytest.mark.django_db(transaction=True)
def test_two_conversions_at_once_convert_once():
    world = build_world("V")
    ensure_default_pipeline(world.tenant)
    for round_ in range(3):
        lead = qualified_lead(
            world.rep1, f"并发转化{round_}", company=f"并发转化{round_}有限公司", phone=f"1351111000{round_}"
        )
        barrier = threading.Barrier(2)
        results = []

        def convert():
            try:
                barrier.wait()
                lead_convert(acting_user=world.rep1, lead=lead)
                results.append("ok")
            except DomainError as exc:
                results.append(exc.message)
            finally:
                connection.close()

        threads = [threading.Thread(target=convert) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["This lead is already converted.", "ok"], results
        assert Customer.objects.filter(name=f"并发转化{round_}有限公司").count() == 1
        assert Lead.objects.get(pk=lead.pk).status == "converted"
