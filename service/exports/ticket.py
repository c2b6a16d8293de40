"""The export kind `ticket`: the ticket list, one row per ticket with its customer and contact (the contact's
mobile and email masked unless the exporter owns the customer, as in the customer export)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.db.models import F, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.exports import Column, ExportKind
from customers.access import can_export
from customers.normalize import format_phone, mask
from service.access import works_desk
from service.filters import TicketFilter
from service.models import Channel, Priority, Status, Ticket


class TicketExport(ExportKind):
    key = "ticket"
    custom_kind = "ticket"
    list_url_name = "service:ticket_list"
    export_url_name = "service:ticket_export"
    export_action = "ticket.export"
    filename_prefix = "tickets"
    order = 40
    base_columns = [
        Column("number", gettext_lazy("Number"), 10),
        Column("subject", gettext_lazy("Subject"), 36),
        Column("customer", gettext_lazy("Customer"), 30),
        Column("contact", gettext_lazy("Contact"), 16),
        Column("mobile", gettext_lazy("Mobile"), 20, "phone"),
        Column("email", gettext_lazy("Email"), 26),
        Column("category", gettext_lazy("Category")),
        Column("priority", gettext_lazy("Priority"), 10),
        Column("status", gettext_lazy("Status"), 12),
        Column("channel", gettext_lazy("Channel"), 10),
        Column("assignee", gettext_lazy("Assignee")),
        Column("team", gettext_lazy("Team")),
        Column("due_at", gettext_lazy("Due"), 17, "datetime"),
        Column("resolved_at", gettext_lazy("Resolved"), 17, "datetime"),
        Column("created_at", gettext_lazy("Created"), 17, "datetime"),
    ]
    values = [
        "pk",
        "number",
        "subject",
        "customer__name",
        "customer__owner_id",
        "contact__name",
        "contact__mobile",
        "contact__email",
        "category__name",
        "priority",
        "status",
        "channel",
        "assignee__full_name",
        "assignee__email",
        "team__name",
        "due_at",
        "resolved_at",
        "created_at",
        "custom",
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.priorities = {k: str(v) for k, v in Priority.choices}
        self.statuses = {k: str(v) for k, v in Status.choices}
        self.channels = {k: str(v) for k, v in Channel.choices}

    @classmethod
    def label(cls) -> str:
        return _("Tickets")

    @classmethod
    def can_export(cls, user: Any) -> bool:
        return can_export(user) and works_desk(user)

    @classmethod
    def refusal(cls) -> str:
        return _("Only managers and administrators export tickets.")

    @classmethod
    def filterset(cls, *, user: Any, params: QueryDict, request: Any = None) -> TicketFilter:
        request = request or SimpleNamespace(tenant=user.tenant, user=user)
        return TicketFilter(params, queryset=Ticket.objects.visible_to(user), request=request)

    @classmethod
    def rows_queryset(cls, queryset: QuerySet) -> QuerySet:
        if not queryset.ordered:
            queryset = queryset.order_by(F("due_at").asc(nulls_last=True), "pk")
        return queryset.values(*cls.values)

    @classmethod
    def wording(cls, count: int | None = None) -> dict[str, str]:
        n = count or 0
        return {
            "title": _("Export tickets"),
            "count": ngettext(
                "%(counter)s ticket of the current list will be exported.",
                "%(counter)s tickets of the current list will be exported.",
                n,
            )
            % {"counter": n},
            "capped": _("More than %(cap)s tickets of the current list will be exported."),
            "all": _("No filter: every unsolved ticket you can see."),
            "ready": ngettext(
                "Your export of %(count)d ticket is ready", "Your export of %(count)d tickets is ready", n
            )
            % {"count": n},
        }

    def row(self, r: dict[str, Any]) -> list[Any]:
        # The contact's data is the customer's: unmasked only to the customer's owner (customers.access).
        own = self.owns(r["customer__owner_id"])
        mobile = r["contact__mobile"] or ""
        email = r["contact__email"] or ""
        return [
            f"T-{r['number']:06d}",
            r["subject"],
            r["customer__name"] or "",
            r["contact__name"] or "",
            format_phone(mobile) if own else mask("mobile", mobile),
            email if own else mask("email", email),
            r["category__name"] or "",
            self.priorities.get(r["priority"], r["priority"]),
            self.statuses.get(r["status"], r["status"]),
            self.channels.get(r["channel"], r["channel"]),
            r["assignee__full_name"] or r["assignee__email"] or "",
            r["team__name"] or "",
            self.local(r["due_at"]),
            self.local(r["resolved_at"]),
            self.local(r["created_at"]),
        ]
