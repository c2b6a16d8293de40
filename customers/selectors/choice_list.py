"""A tenant's value lists (region, industry, source) as forms, filters, services and imports read them."""

from __future__ import annotations

from django.db.models import Count
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from crm.models import Tenant
from customers.models import ChoiceEntry, ChoiceKind, ChoiceList, Customer
from customers.normalize import nfkc


class ChoiceLookup:
    """Every list of one tenant: which lists are in use, their offered entries in order, and every spelling (value,
    English name, aliases; NFKC, case-folded) of every entry, offered or not — one query, and one more the first
    time whether a list accepts other values matters."""

    def __init__(self, tenant: Tenant | int):
        self.tenant_id = tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        self._allow: dict[str, bool] | None = None
        self.entries: dict[str, list[ChoiceEntry]] = {kind: [] for kind in ChoiceKind.values}
        self.spellings: dict[str, dict[str, str]] = {kind: {} for kind in ChoiceKind.values}
        for entry in ChoiceEntry.objects.filter(tenant_id=tenant_id).order_by("kind", "order", "value"):
            if entry.active:
                self.entries[entry.kind].append(entry)
            for spelling in (entry.value, entry.name_en, *(entry.aliases or [])):
                key = nfkc(spelling or "").casefold()
                if key:
                    self.spellings[entry.kind].setdefault(key, entry.value)

    def in_use(self, kind: str) -> bool:
        """A list with no offered entry leaves its field free text."""
        return bool(self.entries[kind])

    def allow_other(self, kind: str) -> bool:
        if not self.in_use(kind):
            return True
        if self._allow is None:
            self._allow = dict(ChoiceList.objects.filter(tenant_id=self.tenant_id).values_list("kind", "allow_other"))
        return self._allow.get(kind, False)

    def options(self, kind: str) -> list[tuple[str, str]]:
        """(value, label) of the offered entries; the label adds the English name in an English page."""
        english = (get_language() or "").startswith("en")
        return [(e.value, f"{e.value} · {e.name_en}" if english and e.name_en else e.value) for e in self.entries[kind]]

    def resolve(self, kind: str, raw: str | None) -> tuple[str, str | None]:
        """The list's value for `raw` (an entry's value or one of its spellings), or `raw` itself when the list
        accepts other values; otherwise `raw` with the reason it is refused."""
        text = (raw or "").strip()
        if not text or not self.in_use(kind):
            return text, None
        value = self.spellings[kind].get(nfkc(text).casefold())
        if value is not None:
            return value, None
        if self.allow_other(kind):
            return text, None
        return text, unknown_value_message(kind, text)


def unknown_value_message(kind: str, value: str) -> str:
    return _("“%(value)s” is not in the %(list)s list; choose one of its values or ask an administrator to add it.") % {
        "value": value,
        "list": ChoiceKind(kind).label,
    }


def values_in_use(tenant: Tenant, kind: str) -> list[tuple[str, int, bool]]:
    """The distinct non-empty values of `kind` on the tenant's customers (the recycle bin included), with how many
    customers carry each and whether it is a value of the list: one grouped query, most used first."""
    listed = set(ChoiceEntry.objects.filter(tenant=tenant, kind=kind).values_list("value", flat=True))
    rows = (
        Customer.objects.filter(tenant=tenant)
        .exclude(**{kind: ""})
        .values_list(kind)
        .annotate(n=Count("pk"))
        .order_by("-n", kind)
    )
    return [(value, n, value in listed) for value, n in rows]
