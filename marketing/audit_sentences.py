"""How the audit log says the marketing app's actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.registry import AuditAction, registry

ACTIONS = (
    AuditAction("care_campaign.save", _("%(actor)s saved the care campaign %(object)s"), _("Care campaign saved")),
    AuditAction(
        "care_campaign.test", _("%(actor)s sent themselves a test of %(object)s"), _("Care campaign test sent")
    ),
    AuditAction(
        "campaign_member.add",
        _("%(actor)s added members to the marketing campaign %(object)s"),
        _("Campaign members added"),
    ),
    AuditAction("coupon.redeem", _("%(actor)s redeemed the coupon %(object)s"), _("Coupon redeemed")),
    AuditAction(
        "coupon.return",
        _("%(actor)s gave back the coupon %(object)s: its order was voided or its discount rejected"),
        _("Coupon given back"),
    ),
    AuditAction(
        "campaign_member.import.upload",
        _("%(actor)s uploaded a sign-in list to import"),
        _("Sign-in list uploaded"),
    ),
)


def register() -> None:
    for action in ACTIONS:
        registry.add_audit_action(action)
