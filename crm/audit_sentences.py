"""How the audit log says the actions of the core app and its machinery (users, tenants, API tokens, webhooks,
custom fields, approvals, working calendar, robots, saved views, imports' uploads)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.registry import AuditAction, registry

ACTIONS = (
    AuditAction("exchange_rate.save", _("%(actor)s set the exchange rate %(object)s"), _("Exchange rate set")),
    AuditAction(
        "exchange_rate.delete", _("%(actor)s removed the exchange rate %(object)s"), _("Exchange rate removed")
    ),
    AuditAction("tenant.create", _("%(actor)s created the company %(object)s"), _("Company created")),
    AuditAction("operator.show_data", _("An operator opened the data of %(object)s"), _("Operator opened data")),
    AuditAction(
        "user.two_factor_new_codes", _("%(actor)s made new recovery codes"), _("Two-factor recovery codes renewed")
    ),
    AuditAction("api_token.create", _("%(actor)s created the API token %(object)s"), _("API token created")),
    AuditAction("api_token.revoke", _("%(actor)s revoked the API token %(object)s"), _("API token revoked")),
    AuditAction("webhook.save", _("%(actor)s saved the webhook %(object)s"), _("Webhook saved")),
    AuditAction("webhook.redeliver", _("%(actor)s sent the webhook delivery %(object)s again"), _("Webhook resent")),
    AuditAction("custom_field.save", _("%(actor)s saved the custom field %(object)s"), _("Custom field saved")),
    AuditAction(
        "custom_field.archive", _("%(actor)s archived the custom field %(object)s"), _("Custom field archived")
    ),
    AuditAction("approval.submit", _("%(actor)s asked for approval of %(object)s"), _("Approval requested")),
    AuditAction("approval.approve", _("%(actor)s approved %(object)s"), _("Approved")),
    AuditAction("approval.reject", _("%(actor)s rejected %(object)s"), _("Rejected")),
    AuditAction("approval.withdraw", _("%(actor)s withdrew the approval request %(object)s"), _("Approval withdrawn")),
    AuditAction(
        "approval.orphaned",
        _("%(actor)s closed %(object)s: nobody is left who may decide it"),
        _("Approval closed without a decider"),
    ),
    AuditAction("workcalendar.update", _("%(actor)s changed the working calendar"), _("Working calendar changed")),
    AuditAction(
        "workcalendar.override_add", _("%(actor)s set a special day in the working calendar"), _("Special day set")
    ),
    AuditAction(
        "workcalendar.override_remove",
        _("%(actor)s removed a special day from the working calendar"),
        _("Special day removed"),
    ),
    AuditAction("robot.save", _("%(actor)s saved the group robot %(object)s"), _("Group robot saved")),
    AuditAction(
        "robot.active", _("%(actor)s switched the group robot %(object)s on or off"), _("Group robot switched")
    ),
    AuditAction(
        "robot.test", _("%(actor)s sent a test message to the group robot %(object)s"), _("Group robot tested")
    ),
    AuditAction(
        "robot.test.refused",
        _("%(actor)s could not send a test message to the group robot %(object)s: %(text)s"),
        _("Group robot test refused"),
        text="reason",
    ),
    AuditAction(
        "robot.test.sent", _("The group robot %(object)s took the test message"), _("Group robot test delivered")
    ),
    AuditAction(
        "robot.test.failed",
        _("The group robot %(object)s did not take the test message: %(text)s"),
        _("Group robot test failed"),
        text="error",
    ),
    AuditAction("savedview.save", _("%(actor)s saved the view %(object)s"), _("View saved")),
    AuditAction("savedview.delete", _("%(actor)s removed the view %(object)s"), _("View removed")),
)


def register() -> None:
    for action in ACTIONS:
        registry.add_audit_action(action)
