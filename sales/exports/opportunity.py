"""The export kind `opportunity`: the opportunity list, one row per opportunity with its customer and contact
(the contact's mobile and email masked unless the exporter owns the customer, as in the customer export)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.exports import Column, ExportKind
from customers.access import can_export
from customers.normalize import format_phone, mask
from sales.filters import OpportunityFilter
from sales.models import Opportunity, StageKind


class OpportunityExport(ExportKind):
    key = "opportunity"
    custom_kind = "opportunity"
    list_url_name = "sales:opportunity_list"
    export_url_name = "sales:opportunity_export"
    export_action = "opportunity.export"
    filename_prefix = "opportunities"
    order = 30
    base_columns = [
        Column("name", gettext_lazy("Name"), 30),
        Column("customer", gettext_lazy("Customer"), 30),
        Column("contact", gettext_lazy("Contact"), 16),
        Column("mobile", gettext_lazy("Mobile"), 20, "phone"),
        Column("email", gettext_lazy("Email"), 26),
        Column("pipeline", gettext_lazy("Pipeline")),
        Column("stage", gettext_lazy("Stage")),
        Column("status", gettext_lazy("Status"), 10),
        Column("owner", gettext_lazy("Owner")),
        Column("amount", gettext_lazy("Amount"), 14, "number"),
        Column("currency", gettext_lazy("Currency"), 8),
        Column("expected_close_date", gettext_lazy("Expected close date"), 12, "date"),
        Column("closed_at", gettext_lazy("Closed"), 17, "datetime"),
        Column("last_followed_up_at", gettext_lazy("Last follow-up"), 17, "datetime"),
        Column("created_at", gettext_lazy("Created"), 17, "datetime"),
    ]
    values = [
        "pk",
        "name",
        "customer__name",
        "customer__owner_id",
        "contact__name",
        "contact__mobile",
        "contact__email",
        "pipeline__name",
        "stage__name",
        "status",
        "owner__full_name",
        "owner__email",
        "amount",
        "currency",
        "expected_close_date",
        "closed_at",
        "last_followed_up_at",
        "created_at",
        "custom",
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statuses = {k: str(v) for k, v in StageKind.choices}

    @classmethod
    def label(cls) -> str:
        return _("Opportunities")

    @classmethod
    def can_export(cls, user: Any) -> bool:
        return can_export(user)

    @classmethod
    def refusal(cls) -> str:
        return _("Only managers and administrators export opportunities.")

    @classmethod
    def filterset(cls, *, user: Any, params: QueryDict, request: Any = None) -> OpportunityFilter:
        request = request or SimpleNamespace(tenant=user.tenant, user=user)
        return OpportunityFilter(params, queryset=Opportunity.objects.visible_to(user), request=request)

    @classmethod
    def rows_queryset(cls, queryset: QuerySet) -> QuerySet:
        return queryset.values(*cls.values)

    @classmethod
    def wording(cls, count: int | None = None) -> dict[str, str]:
        n = count or 0
        return {
            "title": _("Export opportunities"),
            "count": ngettext(
                "%(counter)s opportunity of the current list will be exported.",
                "%(counter)s opportunities of the current list will be exported.",
                n,
            )
            % {"counter": n},
            "capped": _("More than %(cap)s opportunities of the current list will be exported."),
            "all": _("No filter: every open opportunity you can see."),
            "ready": ngettext(
                "Your export of %(count)d opportunity is ready", "Your export of %(count)d opportunities is ready", n
            )
            % {"count": n},
        }

    def row(self, r: dict[str, Any]) -> list[Any]:
        # The contact's data is the customer's: unmasked only to the customer's owner (customers.access).
        own = self.owns(r["customer__owner_id"])
        mobile = r["contact__mobile"] or ""
        email = r["contact__email"] or ""
        return [
            r["name"],
            r["customer__name"],
            r["contact__name"] or "",
            format_phone(mobile) if own else mask("mobile", mobile),
            email if own else mask("email", email),
            r["pipeline__name"],
            r["stage__name"],
            self.statuses.get(r["status"], r["status"]),
            r["owner__full_name"] or r["owner__email"] or "",
            r["amount"],
            r["currency"],
            r["expected_close_date"],
            self.local(r["closed_at"]),
            self.local(r["last_followed_up_at"]),
            self.local(r["created_at"]),
        ]
