"""A campaign's audience: the customer list's filters (level, tag, region) and the owner's team pick whose
contacts are greeted; the form shows a live count; a filter value of another tenant is refused."""

import datetime as dt

import pytest
from django.urls import reverse

from customers.models import ChoiceEntry, ChoiceKind, Customer, CustomerLevel, CustomerTag, Tag
from marketing.models import CareCampaign, Greeting
from marketing.services.greeting import greetings_run

from .helpers import at_shanghai, birthday_campaign, make_contact


@pytest.fixture
def audience(world_a):
    key = CustomerLevel.objects.create(tenant=world_a.tenant, code="A", name="重点客户", order=1)
    vip = Tag.objects.create(tenant=world_a.tenant, name="老客户")
    born = dt.date(1990, 11, 29)
    shanghai_vip = make_contact(world_a.rep1, "上海重点", birthday=born)
    Customer.objects.filter(pk=shanghai_vip.customer_id).update(level=key, region="上海")
    CustomerTag.objects.create(tenant=world_a.tenant, customer=shanghai_vip.customer, tag=vip)
    beijing = make_contact(world_a.rep2, "北京普通", birthday=born)
    Customer.objects.filter(pk=beijing.customer_id).update(region="北京")
    return {"level": key, "tag": vip, "shanghai": shanghai_vip, "beijing": beijing}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "pick, expected",
    [
        (lambda a, w: {"level": a["level"].pk}, {"上海重点"}),
        (lambda a, w: {"tag": a["tag"].pk}, {"上海重点"}),
        (lambda a, w: {"region": "北京"}, {"北京普通"}),
        (lambda a, w: {"team": w.team2.pk}, {"北京普通"}),
        (lambda a, w: {"team": w.sales.pk}, {"上海重点", "北京普通"}),
        (lambda a, w: {}, {"上海重点", "北京普通"}),
    ],
)
def test_the_audience_picks_whose_contacts_are_greeted(world_a, audience, pick, expected):
    birthday_campaign(world_a.tenant, audience=pick(audience, world_a))
    greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))
    assert set(Greeting.objects.values_list("contact__name", flat=True)) == expected


@pytest.mark.django_db
def test_the_form_saves_the_audience_and_counts_it_live(world_a, world_b, audience, client_for):
    client = client_for(world_a.admin)
    count = client.get(reverse("marketing:audience_count"), {"audience_region": "上海"}, HTTP_HX_REQUEST="true")
    assert count.status_code == 200 and "HX-Request" in count["Vary"]
    assert "该范围内共 1 位联系人，其中 1 位同意接收祝福" in count.content.decode()  # the tenant speaks zh-hans
    post = {
        "name": "重点客户生日",
        "kind": "birthday",
        "is_active": "on",
        "send_hour": "9",
        "channel": "email",
        "email_subject": "生日快乐",
        "email_body": "{{ contact.name }}生日快乐",
        "coupon_valid_days": "30",
        "coupon_min_order": "0",
        "audience_level": audience["level"].pk,
        "audience_region": "上海",
    }
    assert client.post(reverse("marketing:campaign_create"), post).status_code == 302
    assert CareCampaign.objects.get().audience == {"level": audience["level"].pk, "region": "上海"}
    # Another tenant's tag is not a choice.
    other_tag = Tag.objects.create(tenant=world_b.tenant, name="B的标签")
    edit = reverse("marketing:campaign_edit", args=[CareCampaign.objects.get().pk])
    assert client.post(edit, {**post, "audience_tag": other_tag.pk}).status_code == 422
    assert CareCampaign.objects.get().audience == {"level": audience["level"].pk, "region": "上海"}


@pytest.fixture
def more_audience(world_a, audience):
    industry = ChoiceEntry.objects.filter(tenant=world_a.tenant, kind=ChoiceKind.INDUSTRY, active=True).first()
    if industry is None:
        industry = ChoiceEntry.objects.create(tenant=world_a.tenant, kind=ChoiceKind.INDUSTRY, value="制造业")
    Customer.objects.filter(pk=audience["beijing"].customer_id).update(
        industry=industry.value, status=Customer.Status.LOST
    )
    return {**audience, "industry": industry.value}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "pick, expected",
    [
        (lambda a, w: {"industry": a["industry"]}, {"北京普通"}),
        (lambda a, w: {"status": "lost"}, {"北京普通"}),
        (lambda a, w: {"owner": w.rep1.pk}, {"上海重点"}),
        (lambda a, w: {"owner": w.rep2.pk, "status": "lost"}, {"北京普通"}),
        (lambda a, w: {"owner": w.rep1.pk, "status": "lost"}, set()),
    ],
)
def test_status_industry_and_owner_pick_the_audience(world_a, more_audience, pick, expected):
    birthday_campaign(world_a.tenant, audience=pick(more_audience, world_a))
    greetings_run(tenant_id=world_a.tenant.pk, now=at_shanghai(2026, 11, 29))
    assert set(Greeting.objects.values_list("contact__name", flat=True)) == expected


@pytest.mark.django_db
def test_the_form_offers_status_the_industry_list_and_owners(world_a, world_b, more_audience, client_for):
    client = client_for(world_a.admin)
    page = client.get(reverse("marketing:campaign_create")).content.decode()
    assert 'name="audience_industry"' in page and f'<option value="{more_audience["industry"]}"' in page
    assert 'name="audience_status"' in page and 'name="audience_owner"' in page
    assert world_a.rep2.full_name in page and world_b.rep1.full_name not in page
    count = client.get(
        reverse("marketing:audience_count"),
        {"audience_industry": more_audience["industry"], "audience_owner": world_a.rep2.pk},
        HTTP_HX_REQUEST="true",
    )
    assert "该范围内共 1 位联系人" in count.content.decode()
    post = {
        "name": "流失客户关怀",
        "kind": "birthday",
        "is_active": "on",
        "send_hour": "9",
        "channel": "email",
        "email_subject": "生日快乐",
        "email_body": "{{ contact.name }}生日快乐",
        "coupon_valid_days": "30",
        "coupon_min_order": "0",
        "audience_status": "lost",
        "audience_industry": more_audience["industry"],
        "audience_owner": world_a.rep2.pk,
    }
    assert client.post(reverse("marketing:campaign_create"), post).status_code == 302
    campaign = CareCampaign.objects.get()
    expected = {"status": "lost", "industry": more_audience["industry"], "owner": world_a.rep2.pk}
    assert campaign.audience == expected
    # The saved choices are shown again on the edit page.
    edit = client.get(reverse("marketing:campaign_edit", args=[campaign.pk])).content.decode()
    assert f'<option value="{world_a.rep2.pk}" selected>' in edit
    # Another tenant's user is not an owner to choose: refused, nothing changed.
    refused = client.post(
        reverse("marketing:campaign_edit", args=[campaign.pk]), {**post, "audience_owner": world_b.rep1.pk}
    )
    assert refused.status_code == 422
    campaign.refresh_from_db()
    assert campaign.audience == expected
