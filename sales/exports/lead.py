"""The export kind `lead`: the lead list, one row per lead, phones and emails masked outside one's own leads."""

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
from sales.access import can_work_leads
from sales.filters import LeadFilter
from sales.models import Lead, LeadOrigin, LeadStatus


class LeadExport(ExportKind):
    key = "lead"
    custom_kind = "lead"
    list_url_name = "sales:lead_list"
    export_url_name = "sales:lead_export"
    export_action = "lead.export"
    filename_prefix = "leads"
    order = 20
    base_columns = [
        Column("name", gettext_lazy("Name"), 20),
        Column("company", gettext_lazy("Company"), 30),
        Column("title", gettext_lazy("Job title"), 14),
        Column("phone", gettext_lazy("Phone"), 20, "phone"),
        Column("email", gettext_lazy("Email"), 26),
        Column("wechat", gettext_lazy("WeChat ID"), 16),
        Column("status", gettext_lazy("Status"), 12),
        Column("source", gettext_lazy("Source")),
        Column("origin", gettext_lazy("Entered through")),
        Column("region", gettext_lazy("Region")),
        Column("industry", gettext_lazy("Industry")),
        Column("campaign", gettext_lazy("Campaign code")),
        Column("owner", gettext_lazy("Owner")),
        Column("score", gettext_lazy("Score"), 8, "number"),
        Column("created_at", gettext_lazy("Created"), 17, "datetime"),
    ]
    values = [
        "pk",
        "name",
        "company",
        "title",
        "phone",
        "email",
        "wechat",
        "status",
        "source",
        "origin",
        "region",
        "industry",
        "campaign",
        "owner_id",
        "owner__full_name",
        "owner__email",
        "score",
        "created_at",
        "custom",
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statuses = {k: str(v) for k, v in LeadStatus.choices}
        self.origins = {k: str(v) for k, v in LeadOrigin.choices}

    @classmethod
    def label(cls) -> str:
        return _("Leads")

    @classmethod
    def can_export(cls, user: Any) -> bool:
        return can_export(user) and can_work_leads(user)

    @classmethod
    def refusal(cls) -> str:
        return _("Only managers and administrators export leads.")

    @classmethod
    def filterset(cls, *, user: Any, params: QueryDict, request: Any = None) -> LeadFilter:
        request = request or SimpleNamespace(tenant=user.tenant, user=user)
        return LeadFilter(params, queryset=Lead.objects.visible_to(user), request=request)

    @classmethod
    def rows_queryset(cls, queryset: QuerySet) -> QuerySet:
        return queryset.values(*cls.values)

    @classmethod
    def wording(cls, count: int | None = None) -> dict[str, str]:
        n = count or 0
        return {
            "title": _("Export leads"),
            "count": ngettext(
                "%(counter)s lead of the current list will be exported.",
                "%(counter)s leads of the current list will be exported.",
                n,
            )
            % {"counter": n},
            "capped": _("More than %(cap)s leads of the current list will be exported."),
            "all": _("No filter: every open lead you can see."),
            "ready": ngettext("Your export of %(count)d lead is ready", "Your export of %(count)d leads is ready", n)
            % {"count": n},
        }

    def row(self, r: dict[str, Any]) -> list[Any]:
        # Unmasked only on the exporter's own leads (sales.access.sees_lead_personal_data), as on the list.
        own = self.owns(r["owner_id"])
        return [
            r["name"],
            r["company"],
            r["title"],
            format_phone(r["phone"]) if own else mask("phone", r["phone"] or ""),
            r["email"] if own else mask("email", r["email"] or ""),
            r["wechat"] if own else mask("wechat", r["wechat"] or ""),
            self.statuses.get(r["status"], r["status"]),
            r["source"],
            self.origins.get(r["origin"], r["origin"]),
            r["region"],
            r["industry"],
            r["campaign"],
            r["owner__full_name"] or r["owner__email"] or "",
            r["score"],
            self.local(r["created_at"]),
        ]
