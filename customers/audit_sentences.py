"""How the audit log says the customers app's actions that its AppConfig does not list itself: imports' uploads,
exports, pools, assignment rules, extensions, unsubscribes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from crm.registry import AuditAction, registry

ACTIONS = (
    AuditAction(
        "customer.import.upload", _("%(actor)s uploaded a customer file to import"), _("Customer file uploaded")
    ),
    AuditAction("contact.import.upload", _("%(actor)s uploaded a contact file to import"), _("Contact file uploaded")),
    AuditAction(
        "customer.export.download",
        ngettext_lazy(
            "%(actor)s downloaded an export of %(count)d customer",
            "%(actor)s downloaded an export of %(count)d customers",
            "count",
        ),
        _("Customer export downloaded"),
        count="rows",
    ),
    AuditAction(
        "contact.personal_data_export",
        _("%(actor)s exported the personal data of %(object)s"),
        _("Personal data exported"),
    ),
    AuditAction("contact.unsubscribe", _("%(object)s unsubscribed from messages"), _("Unsubscribed")),
    AuditAction("pool.save", _("%(actor)s saved the pool %(object)s"), _("Pool saved")),
    AuditAction(
        "assignment.settings", _("%(actor)s changed the assignment settings"), _("Assignment settings changed")
    ),
    AuditAction("assignment.rule.create", _("%(actor)s added the assignment rule %(object)s"), _("Rule added")),
    AuditAction("assignment.rule.update", _("%(actor)s changed the assignment rule %(object)s"), _("Rule changed")),
    AuditAction("assignment.rule.delete", _("%(actor)s removed the assignment rule %(object)s"), _("Rule removed")),
    AuditAction("assignment.rule.enable", _("%(actor)s switched on the assignment rule %(object)s"), _("Rule on")),
    AuditAction("assignment.rule.disable", _("%(actor)s switched off the assignment rule %(object)s"), _("Rule off")),
    AuditAction("assignment.rule.move", _("%(actor)s moved the assignment rule %(object)s"), _("Rule moved")),
    AuditAction(
        "assignment.apply_backlog",
        _("%(actor)s gave out %(count)s waiting customers with the rule %(object)s"),
        _("Backlog given out by a rule"),
        count="assigned",
    ),
    AuditAction("extension.request", _("%(actor)s asked to postpone the fallback of %(object)s"), _("Extension asked")),
    AuditAction("extension.approved", _("%(actor)s postponed the fallback of %(object)s"), _("Extension approved")),
    AuditAction(
        "extension.declined", _("%(actor)s declined to postpone the fallback of %(object)s"), _("Extension declined")
    ),
    AuditAction("extension.withdrawn", _("The extension asked for %(object)s was withdrawn"), _("Extension withdrawn")),
)


def register() -> None:
    for action in ACTIONS:
        registry.add_audit_action(action)
