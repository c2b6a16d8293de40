"""How the audit log says the sales app's actions that its AppConfig does not list itself: appointments,
follow-ups, tasks, pipelines and stages, lead rules and forms, products, quotes, contracts, imports' uploads."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from crm.registry import AuditAction, registry

ACTIONS = (
    AuditAction("appointment.create", _("%(actor)s booked the appointment %(object)s"), _("Appointment booked")),
    AuditAction("appointment.update", _("%(actor)s changed the appointment %(object)s"), _("Appointment changed")),
    AuditAction("appointment.cancel", _("%(actor)s cancelled the appointment %(object)s"), _("Appointment cancelled")),
    AuditAction("followup.create", _("%(actor)s recorded the follow-up %(object)s"), _("Follow-up recorded")),
    AuditAction("followup.update", _("%(actor)s changed the follow-up %(object)s"), _("Follow-up changed")),
    AuditAction("task.update", _("%(actor)s changed the task %(object)s"), _("Task changed")),
    AuditAction("task.reopen", _("%(actor)s reopened the task %(object)s"), _("Task reopened")),
    AuditAction("pipeline.create", _("%(actor)s added the pipeline %(object)s"), _("Pipeline added")),
    AuditAction("pipeline.update", _("%(actor)s changed the pipeline %(object)s"), _("Pipeline changed")),
    AuditAction("pipeline.delete", _("%(actor)s removed the pipeline %(object)s"), _("Pipeline removed")),
    AuditAction("stage.create", _("%(actor)s added the stage %(object)s"), _("Stage added")),
    AuditAction("stage.update", _("%(actor)s changed the stage %(object)s"), _("Stage changed")),
    AuditAction("stage.move", _("%(actor)s moved the stage %(object)s"), _("Stage moved")),
    AuditAction("stage.archive", _("%(actor)s archived the stage %(object)s"), _("Stage archived")),
    AuditAction("stage.restore", _("%(actor)s restored the stage %(object)s"), _("Stage restored")),
    AuditAction("stage.delete", _("%(actor)s removed the stage %(object)s"), _("Stage removed")),
    AuditAction("lead.import.upload", _("%(actor)s uploaded a lead file to import"), _("Lead file uploaded")),
    AuditAction(
        "lead.assign_by_rule",
        _("%(actor)s gave out %(count)s leads with the rule %(object)s"),
        _("Leads given out by a rule"),
        items="leads",
        items_kind="lead",
    ),
    AuditAction("lead_form.update", _("%(actor)s changed the web form %(object)s"), _("Web form changed")),
    AuditAction("lead_rule.create", _("%(actor)s added the scoring rule %(object)s"), _("Scoring rule added")),
    AuditAction("lead_rule.update", _("%(actor)s changed the scoring rule %(object)s"), _("Scoring rule changed")),
    AuditAction("lead_rule.delete", _("%(actor)s removed the scoring rule %(object)s"), _("Scoring rule removed")),
    AuditAction("lead_rule.recompute", _("%(actor)s scored every lead again"), _("Lead scores recomputed")),
    AuditAction("product.create", _("%(actor)s added the product %(object)s"), _("Product added")),
    AuditAction("product.update", _("%(actor)s changed the product %(object)s"), _("Product changed")),
    AuditAction(
        "product.import",
        _("%(actor)s imported %(count)s products from %(object)s"),
        _("Products imported"),
        count="created",
        children=True,
    ),
    AuditAction("product.import.upload", _("%(actor)s uploaded a product file to import"), _("Product file uploaded")),
    AuditAction("quote.create", _("%(actor)s wrote the quote %(object)s"), _("Quote written")),
    AuditAction("quote.update", _("%(actor)s changed the quote %(object)s"), _("Quote changed")),
    AuditAction("quote.submit", _("%(actor)s asked for approval of the quote %(object)s"), _("Quote submitted")),
    AuditAction("quote.approved", _("%(actor)s approved the quote %(object)s"), _("Quote approved")),
    AuditAction("quote.rejected", _("%(actor)s rejected the quote %(object)s"), _("Quote rejected")),
    AuditAction("quote.withdrawn", _("%(actor)s withdrew the quote %(object)s from approval"), _("Quote withdrawn")),
    AuditAction("quote.send", _("%(actor)s sent the quote %(object)s"), _("Quote sent")),
    AuditAction("quote.accepted", _("%(actor)s recorded that the customer accepted %(object)s"), _("Quote accepted")),
    AuditAction("quote.declined", _("%(actor)s recorded that the customer declined %(object)s"), _("Quote declined")),
    AuditAction("quote.revise", _("%(actor)s revised the quote %(object)s"), _("Quote revised")),
    AuditAction("quote.expired", _("The quote %(object)s expired"), _("Quote expired")),
    AuditAction("quote.settings", _("%(actor)s changed the quote settings"), _("Quote settings changed")),
    AuditAction("contract.create", _("%(actor)s drew up the contract %(object)s"), _("Contract drawn up")),
    AuditAction(
        "contract.submit", _("%(actor)s asked for approval of the contract %(object)s"), _("Contract submitted")
    ),
    AuditAction("contract.approved", _("%(actor)s approved the contract %(object)s"), _("Contract approved")),
    AuditAction("contract.rejected", _("%(actor)s rejected the contract %(object)s"), _("Contract rejected")),
    AuditAction(
        "contract.withdrawn", _("%(actor)s withdrew the contract %(object)s from approval"), _("Contract withdrawn")
    ),
    AuditAction("contract.status", _("%(actor)s changed the status of the contract %(object)s"), _("Contract status")),
    AuditAction("contract.attach", _("%(actor)s attached a file to the contract %(object)s"), _("Contract file")),
    AuditAction("contract.plan", _("%(actor)s changed the payment plan of %(object)s"), _("Payment plan changed")),
    AuditAction("contract.receipt", _("%(actor)s recorded a payment on %(object)s"), _("Payment recorded")),
)


def register() -> None:
    for action in ACTIONS:
        registry.add_audit_action(action)
