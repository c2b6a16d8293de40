"""The export kind `customer`: the customer list with its primary contact, one row per customer."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.db.models import FilteredRelation, Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.exports import Column, ExportKind
from customers.access import can_export
from customers.filters import CustomerFilter
from customers.models import Customer
from customers.normalize import format_phone, mask


def _level(code: str | None, name: str | None) -> str:
    if not code:
        return ""
    return f"{code} · {name}" if name and name != code else code


class CustomerExport(ExportKind):
    key = "customer"
    custom_kind = "customer"
    list_url_name = "customers:list"
    export_url_name = "customers:export"
    export_action = "customer.export"
    filename_prefix = "customers"
    order = 10
    base_columns = [
        Column("name", gettext_lazy("Name"), 30),
        Column("kind", gettext_lazy("Type"), 10),
        Column("status", gettext_lazy("Status"), 12),
        Column("level", gettext_lazy("Level"), 14),
        Column("industry", gettext_lazy("Industry")),
        Column("region", gettext_lazy("Region")),
        Column("source", gettext_lazy("Source")),
        Column("owner", gettext_lazy("Owner")),
        Column("pool", gettext_lazy("Pool")),
        Column("key_account", gettext_lazy("Key account"), 10),
        Column("credit_code", gettext_lazy("Unified social credit code"), 22),
        Column("contact_name", gettext_lazy("Primary contact"), 16),
        Column("mobile", gettext_lazy("Mobile"), 20, "phone"),
        Column("email", gettext_lazy("Email"), 26),
        Column("wechat", gettext_lazy("WeChat ID"), 16),
        Column("last_followed_up_at", gettext_lazy("Last follow-up"), 17, "datetime"),
        Column("created_at", gettext_lazy("Created"), 17, "datetime"),
    ]
    values = [
        "pk",
        "name",
        "kind",
        "status",
        "level__code",
        "level__name",
        "industry",
        "region",
        "source",
        "owner_id",
        "owner__full_name",
        "owner__email",
        "pool__name",
        "is_key_account",
        "credit_code",
        "primary_contact__name",
        "primary_contact__mobile",
        "primary_contact__email",
        "primary_contact__wechat",
        "last_followed_up_at",
        "created_at",
        "custom",
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kinds = {k: str(v) for k, v in Customer.Kind.choices}
        self.statuses = {k: str(v) for k, v in Customer.Status.choices}

    @classmethod
    def label(cls) -> str:
        return _("Customers")

    @classmethod
    def can_export(cls, user: Any) -> bool:
        return can_export(user)

    @classmethod
    def refusal(cls) -> str:
        return _("Only managers and administrators export customers.")

    @classmethod
    def filterset(cls, *, user: Any, params: QueryDict, request: Any = None) -> CustomerFilter:
        request = request or SimpleNamespace(tenant=user.tenant, user=user)
        return CustomerFilter(params, queryset=Customer.objects.visible_to(user), request=request)

    @classmethod
    def rows_queryset(cls, queryset: QuerySet) -> QuerySet:
        # One query: the filtered customers with level, owner, pool and primary contact joined.
        return queryset.annotate(
            primary_contact=FilteredRelation("contacts", condition=Q(contacts__is_primary=True))
        ).values(*cls.values)

    @classmethod
    def wording(cls, count: int | None = None) -> dict[str, str]:
        n = count or 0
        return {
            "title": _("Export customers"),
            "count": ngettext(
                "%(counter)s customer of the current list will be exported.",
                "%(counter)s customers of the current list will be exported.",
                n,
            )
            % {"counter": n},
            "capped": _("More than %(cap)s customers of the current list will be exported."),
            "all": _("No filter: every customer you can see."),
            "ready": ngettext(
                "Your export of %(count)d customer is ready", "Your export of %(count)d customers is ready", n
            )
            % {"count": n},
        }

    def row(self, r: dict[str, Any]) -> list[Any]:
        own = self.owns(r["owner_id"])
        mobile = r["primary_contact__mobile"] or ""
        email = r["primary_contact__email"] or ""
        wechat = r["primary_contact__wechat"] or ""
        return [
            r["name"],
            self.kinds.get(r["kind"], r["kind"]),
            self.statuses.get(r["status"], r["status"]),
            _level(r["level__code"], r["level__name"]),
            r["industry"],
            r["region"],
            r["source"],
            r["owner__full_name"] or r["owner__email"] or "",
            r["pool__name"],
            self.yes if r["is_key_account"] else self.no,
            r["credit_code"],
            r["primary_contact__name"] or "",
            format_phone(mobile) if own else mask("mobile", mobile),
            email if own else mask("email", email),
            wechat if own else mask("wechat", wechat),
            self.local(r["last_followed_up_at"]),
            self.local(r["created_at"]),
        ]
