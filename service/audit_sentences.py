"""How the audit log says the service desk's actions that its AppConfig does not list itself."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.registry import AuditAction, registry

ACTIONS = (
    AuditAction("ticket.note", _("%(actor)s added an internal note to %(object)s"), _("Ticket note")),
    AuditAction(
        "ticket.customer_message", _("The customer wrote again on %(object)s"), _("Customer message on a ticket")
    ),
    AuditAction(
        "ticket.dispatch", _("%(actor)s dispatched the ticket %(object)s by the rules"), _("Ticket dispatched")
    ),
    AuditAction(
        "ticket.escalate_priority", _("The ticket %(object)s was escalated to a higher priority"), _("Ticket escalated")
    ),
    AuditAction(
        "article.archive", _("%(actor)s archived the knowledge-base article %(object)s"), _("Article archived")
    ),
    AuditAction(
        "article.unarchive",
        _("%(actor)s brought back the archived knowledge-base article %(object)s"),
        _("Article brought back from the archive"),
    ),
    AuditAction("article.delete", _("%(actor)s deleted the knowledge-base article %(object)s"), _("Article deleted")),
    AuditAction("service.presence", _("%(actor)s changed their availability for tickets"), _("Availability changed")),
    AuditAction("service.settings", _("%(actor)s changed the service desk settings"), _("Desk settings changed")),
    AuditAction("service.category", _("%(actor)s saved the ticket category %(object)s"), _("Ticket category saved")),
    AuditAction("service.canned_reply", _("%(actor)s saved the canned reply %(object)s"), _("Canned reply saved")),
    AuditAction(
        "service.canned_reply_delete", _("%(actor)s removed the canned reply %(object)s"), _("Canned reply removed")
    ),
    AuditAction("service.dispatch_rule", _("%(actor)s saved the dispatch rule %(object)s"), _("Dispatch rule saved")),
    AuditAction(
        "service.dispatch_rule_delete", _("%(actor)s removed the dispatch rule %(object)s"), _("Dispatch rule removed")
    ),
    AuditAction("service.sla_policy", _("%(actor)s saved the SLA policy %(object)s"), _("SLA policy saved")),
    AuditAction("service.sla_policy_delete", _("%(actor)s removed the SLA policy %(object)s"), _("SLA policy removed")),
)


def register() -> None:
    for action in ACTIONS:
        registry.add_audit_action(action)
