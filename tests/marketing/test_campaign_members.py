"""A campaign's sign-in list through the import machine: rows matching a contact (by phone or email) join as that
contact, rows matching a lead join as that lead, the others become leads carrying the campaign's code; a person
already a member is not added twice; only managers and admins import, into their own company's campaigns."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.imports.models import ImportJob
from customers.services.customer import customer_create
from marketing.models import CampaignMember
from sales.models import Lead

from .campaigns import campaign_lead, make_campaign

UPLOAD = reverse("campaigns:member_import")
HEADERS = ["姓名", "公司", "手机", "邮箱", "签到"]


def csv_file(rows) -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return SimpleUploadedFile("签到表.csv", buffer.getvalue().encode("utf-8-sig"))


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run_import(client, campaign, rows):
    response = client.post(UPLOAD, {"file": csv_file(rows), "target": str(campaign.pk)})
    job = ImportJob.objects.filter(kind="campaign_member").latest("pk")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.post(reverse("imports:mapping", args=[job.pk]), job.mapping).status_code == 302
    client.post(reverse("imports:commit", args=[job.pk]))
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_a_sign_in_list_matches_contacts_and_leads_and_makes_new_leads(world_a, client_for, media):
    campaign = make_campaign(world_a)
    customer_create(
        acting_user=world_a.rep1,
        data={"name": "老客户有限公司"},
        contact={"name": "老客户联系人", "mobile": "13610000003"},
    )
    known = campaign_lead(world_a.rep2, "已有线索", "other-code", email="lead@known.test")
    rows = [
        ["老客户联系人", "老客户有限公司", "136-1000-0003", "", "签到"],
        ["已有线索", "", "", "LEAD@known.test", "未到"],
        ["新朋友", "宁波新朋友贸易", "13810000001", "", "是"],
        ["新朋友", "", "13810000001", "", "签到"],  # repeats the row above: rejected
        ["坏号码", "", "12345", "", ""],
    ]
    client = client_for(world_a.manager)
    assert client.get(f"{UPLOAD}?target={campaign.pk}").status_code == 200
    job = run_import(client, campaign, rows)

    assert job.status == "done", job.error
    assert (job.created_count, job.rejected_count) == (3, 2)
    members = {m.name: m for m in CampaignMember.objects.filter(campaign=campaign)}
    assert set(members) == {"老客户联系人", "已有线索", "新朋友"}
    assert members["老客户联系人"].contact.name == "老客户联系人" and members["老客户联系人"].status == "attended"
    assert members["已有线索"].lead == known and members["已有线索"].status == "invited"
    new_lead = members["新朋友"].lead
    assert (new_lead.campaign, new_lead.phone, new_lead.owner) == (campaign.code, "+8613810000001", None)
    known.refresh_from_db()
    assert known.campaign == "other-code"  # first touch: a matched lead keeps its campaign

    # The same list again: nobody is added twice; an invited member who signed in now counts as attended.
    rows[1][4] = "签到"
    run_import(client, campaign, rows[:3])
    assert CampaignMember.objects.filter(campaign=campaign).count() == 3
    assert CampaignMember.objects.get(campaign=campaign, lead=known).status == "attended"
    assert Lead.objects.filter(campaign=campaign.code).count() == 1
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "新朋友" in page and "老客户联系人" in page


@pytest.mark.django_db
def test_only_managers_import_members_and_only_into_their_companys_campaigns(world_a, world_b, client_for, media):
    theirs = make_campaign(world_b)
    assert client_for(world_a.rep1).get(UPLOAD).status_code == 403
    client = client_for(world_a.admin)
    ours = make_campaign(world_a)
    # One campaign: the form offers no choice, and another company's id in the post changes nothing.
    response = client.post(UPLOAD, {"file": csv_file([["某人", "", "13810000001", "", ""]]), "target": str(theirs.pk)})
    assert response.status_code == 302
    assert ImportJob.objects.get(kind="campaign_member").options == {"campaign": ours.pk}
    make_campaign(world_a, code="second", name="第二个活动")
    response = client.post(UPLOAD, {"file": csv_file([["某人", "", "13810000001", "", ""]]), "target": str(theirs.pk)})
    assert response.status_code == 422
    assert ImportJob.objects.filter(kind="campaign_member").count() == 1
