"""Sample URL arguments for the customer-care pages (see samples_crm.py for the contract)."""

from marketing.models import CareCampaign

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


SAMPLES = {
    "marketing:campaign_detail": _campaign,
    "marketing:campaign_edit": _campaign,
    "marketing:campaign_test": _campaign,
    "marketing:unsubscribe": lambda w: {"token": "not-a-signed-token"},
}

VIEWERS: dict = {}

PUBLIC = {
    "marketing:unsubscribe": "the one-click unsubscribe link of a greeting: the signed token names the contact and is "
    "the credential (RFC 8058 posts without a login or CSRF token)",
}
