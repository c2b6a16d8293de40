"""Sample URL arguments for the customer-care pages (see samples_crm.py for the contract)."""

from marketing.models import CareCampaign, Segment

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


SAMPLES = {
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
