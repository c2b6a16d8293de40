"""How the audit log says the reports app's actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from crm.registry import AuditAction, registry

ACTIONS = (
    AuditAction("reports.targets_set", _("%(actor)s set sales targets"), _("Targets set")),
    AuditAction(
        "reports.targets_import",
        _("%(actor)s imported %(count)s sales targets from %(object)s"),
        _("Targets imported"),
        count="created",
        children=True,
    ),
    AuditAction(
        "reports.targets_import.upload", _("%(actor)s uploaded a target file to import"), _("Target file uploaded")
    ),
    AuditAction("reports.subscribe", _("%(actor)s subscribed to the report %(object)s"), _("Report subscribed")),
    AuditAction(
        "reports.unsubscribe", _("%(actor)s unsubscribed from the report %(object)s"), _("Report unsubscribed")
    ),
    AuditAction(
        "reports.files_expire",
        ngettext_lazy(
            "%(actor)s deleted %(count)s expired report file",
            "%(actor)s deleted %(count)s expired report files",
            "count",
        ),
        _("Report files expired"),
        count="count",
    ),
)


def register() -> None:
    for action in ACTIONS:
        registry.add_audit_action(action)
