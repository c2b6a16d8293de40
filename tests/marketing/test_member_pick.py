"""Adding campaign members by hand: search contacts and leads, tick them, add them with a status; someone already
a member is refused by name and nothing is added; people the user may not see, another company's campaign, and
reps are refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.errors import DomainError
from crm.models import AuditEvent
from customers.services.customer import customer_create
from marketing.models import CampaignMember
from marketing.services.member import members_pick

from .campaigns import campaign_lead, make_campaign


@pytest.fixture
def people(world_a):
    customer = customer_create(
        acting_user=world_a.rep1, data={"name": "云帆科技有限公司"}, contact={"name": "李娜", "mobile": "13800138000"}
    )
    lead = campaign_lead(world_a.rep1, "王强", "", company="云帆贸易")
    return {"contact": customer.contacts.get(), "lead": lead, "campaign": make_campaign(world_a)}


@pytest.mark.django_db
def test_a_manager_searches_ticks_and_adds_members(world_a, people, client_for, django_assert_max_num_queries):
    campaign, contact, lead = people["campaign"], people["contact"], people["lead"]
    client = client_for(world_a.manager)
    url = reverse("campaigns:member_pick", args=[campaign.pk])
    detail = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert f'href="{url}"' in detail
    for n in range(5):
        customer_create(acting_user=world_a.rep1, data={"name": f"云帆分公司{n}"}, contact={"name": f"联系人{n}"})
    with django_assert_max_num_queries(25):
        page = client.get(url, {"q": "云帆"}, HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 200 and f'value="contact:{contact.pk}"' in html and f'value="lead:{lead.pk}"' in html
    response = client.post(url, {"people": [f"contact:{contact.pk}", f"lead:{lead.pk}"], "status": "attended"})
    assert response.status_code == 302 and response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    members = CampaignMember.objects.filter(campaign=campaign).order_by("name")
    assert [(m.name, m.contact_id, m.lead_id, m.status) for m in members] == [
        ("李娜", contact.pk, None, "attended"),
        ("王强", None, lead.pk, "attended"),
    ]
    assert AuditEvent.objects.filter(action="campaign_member.add", object_id=str(campaign.pk)).count() == 1
    # Already members: shown as such, and refused by name with nothing added.
    html = client.get(url, {"q": "云帆"}).content.decode()
    assert "already a member" in html or "已是成员" in html
    other = customer_create(acting_user=world_a.rep1, data={"name": "晨光文具"}, contact={"name": "赵六"})
    refused = client.post(
        url, {"people": [f"contact:{other.contacts.get().pk}", f"lead:{lead.pk}"], "status": "invited"}
    )
    assert refused.status_code == 422 and "王强" in refused.content.decode()
    assert CampaignMember.objects.filter(campaign=campaign).count() == 2


@pytest.mark.django_db
def test_bad_picks_are_refused_with_nothing_added(world_a, world_b, people, client_for):
    campaign = people["campaign"]
    client = client_for(world_a.manager)
    url = reverse("campaigns:member_pick", args=[campaign.pk])
    foreign = customer_create(acting_user=world_b.rep1, data={"name": "别家公司"}, contact={"name": "别家人"})
    for picked in ([], ["contact:abc"], ["customer:1"], [f"contact:{foreign.contacts.get().pk}"], ["lead:999999"]):
        response = client.post(url, {"people": picked, "status": "invited"})
        assert response.status_code == 422, picked
    assert client.post(url, {"people": [f"lead:{people['lead'].pk}"], "status": "maybe"}).status_code == 422
    assert not CampaignMember.objects.exists()
    with pytest.raises(DomainError) as refused:
        members_pick(acting_user=world_a.manager, campaign=campaign, contact_ids=[], lead_ids=[])
    assert refused.value.field == "people"


@pytest.mark.django_db
def test_only_managers_and_only_their_companys_campaigns(world_a, world_b, people, client_for):
    campaign = people["campaign"]
    url = reverse("campaigns:member_pick", args=[campaign.pk])
    picked = {"people": [f"lead:{people['lead'].pk}"], "status": "invited"}
    assert client_for(world_a.rep1).post(url, picked).status_code == 403
    outsider = client_for(world_b.admin)
    assert outsider.get(url).status_code == 404 and outsider.post(url, picked).status_code == 404
    assert not CampaignMember.objects.exists()
