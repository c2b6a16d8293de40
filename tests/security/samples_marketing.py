"""Sample URL arguments for the customer-care pages (see samples_crm.py for the contract)."""

from marketing.models import Blast, CareCampaign, MarketingCampaign, Segment

from .marks import named


def _campaign(world) -> dict:
    campaign, _created = CareCampaign.objects.get_or_create(
        tenant=world.tenant,
        name=named(world, "MARKA 生日祝福"),
        defaults={
            "kind": "birthday",
            "email_subject": named(world, "MARKA subject"),
            "email_body": named(world, "MARKA {{ contact.name }}"),
        },
    )
    return {"pk": campaign.pk}


def _segment(world) -> dict:
    segment, _created = Segment.objects.get_or_create(
        tenant=world.tenant,
        name=named(world, "MARKA 细分"),
        defaults={"owner": world.manager, "filters": {"region": named(world, "MARKA 上海")}},
    )
    return {"pk": segment.pk}


def _segment_to_delete(world) -> dict:
    # Its own row: the sweep posts to the delete URL as A's admin before it opens the others (names sort).
    segment, _created = Segment.objects.get_or_create(
        tenant=world.tenant, name=named(world, "MARKA 待删除细分"), defaults={"owner": world.manager}
    )
    return {"pk": segment.pk}


def _marketing_campaign(world) -> dict:
    campaign, _created = MarketingCampaign.objects.get_or_create(
        tenant=world.tenant,
        code="expo",
        defaults={"name": named(world, "MARKA 展会"), "description": named(world, "MARKA 描述")},
    )
    return {"pk": campaign.pk}


def _blast(world, name: str = "MARKA 群发") -> dict:
    campaign = MarketingCampaign.objects.get(pk=_marketing_campaign(world)["pk"])
    blast, _created = Blast.objects.get_or_create(
        tenant=world.tenant,
        campaign=campaign,
        name=named(world, name),
        defaults={"email_subject": named(world, "MARKA 主题"), "email_body": named(world, "MARKA 正文")},
    )
    return {"pk": blast.pk}


SAMPLES = {
    "campaigns:blast_create": _marketing_campaign,
    "campaigns:blast_detail": _blast,
    "campaigns:blast_edit": _blast,
    "campaigns:blast_test": _blast,
    # Scheduling and cancelling change the blast: each has a row of its own, so the editing page stays open.
    "campaigns:blast_schedule": lambda w: _blast(w, "MARKA 排期群发"),
    "campaigns:blast_cancel": lambda w: _blast(w, "MARKA 取消群发"),
    "campaigns:detail": _marketing_campaign,
    "campaigns:member_pick": _marketing_campaign,
    "campaigns:edit": _marketing_campaign,
    "marketing:campaign_detail": _campaign,
    "marketing:campaign_edit": _campaign,
    "marketing:campaign_test": _campaign,
    "marketing:unsubscribe": lambda w: {"token": "not-a-signed-token"},
    "marketing:segment_detail": _segment,
    "marketing:segment_edit": _segment,
    "marketing:segment_delete": _segment_to_delete,
}

VIEWERS: dict = {}

PUBLIC = {
    "marketing:unsubscribe": "the one-click unsubscribe link of a greeting: the signed token names the contact and is "
    "the credential (RFC 8058 posts without a login or CSRF token)",
}
