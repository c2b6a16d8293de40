"""A tenant's value lists for region, industry and source (Settings → Value lists): entries, whether a value
outside a list is accepted, the built-in lists of a new company, and mapping free text already on records to an
entry."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.audit import audit
from customers.models import ChoiceEntry, ChoiceKind, ChoiceList, Customer
from customers.regions import CHINA_REGIONS, DEFAULT_INDUSTRIES, DEFAULT_SOURCES
from customers.selectors.choice_list import ChoiceLookup
from customers.signals import choice_value_mapped


def choice_lists_seed(*, tenant: Tenant) -> None:
    """A company's starting lists (idempotent): China's 34 provincial-level regions, accepting nothing else, and the
    common industries and sources, accepting other values too."""
    for kind, allow_other in ((ChoiceKind.REGION, False), (ChoiceKind.INDUSTRY, True), (ChoiceKind.SOURCE, True)):
        ChoiceList.objects.get_or_create(tenant=tenant, kind=kind, defaults={"allow_other": allow_other})
    entries = [
        ChoiceEntry(tenant=tenant, kind=ChoiceKind.REGION, value=value, name_en=en, aliases=list(aliases), order=i)
        for i, (value, en, aliases) in enumerate(CHINA_REGIONS)
    ]
    entries += [
        ChoiceEntry(tenant=tenant, kind=kind, value=value, order=i)
        for kind, values in ((ChoiceKind.INDUSTRY, DEFAULT_INDUSTRIES), (ChoiceKind.SOURCE, DEFAULT_SOURCES))
        for i, value in enumerate(values)
    ]
    ChoiceEntry.objects.bulk_create(entries, ignore_conflicts=True)


def choice_value_check(tenant: Tenant | int, kind: str, value: str | None, *, current: str | None = None) -> str:
    """`value` as the list stores it (a spelling of an entry becomes the entry's value); refused with a translated
    message when the list is in use, accepts nothing else, and `value` is neither in it nor the record's `current`
    value (an old value outside the list stays on the record until someone changes it)."""
    text = (value or "").strip()
    if not text or text == (current or ""):
        return text
    resolved, error = ChoiceLookup(tenant).resolve(kind, text)
    if error:
        raise DomainError(error, field=kind)
    return resolved


def _check_kind(kind: str) -> str:
    if kind not in ChoiceKind.values:
        raise DomainError(_("Choose a list: region, industry or source."))
    return kind


def choice_list_save(*, acting_user: User, kind: str, allow_other: bool) -> ChoiceList:
    """Whether the list accepts values outside it (on forms, through the API and in imports)."""
    require_admin(acting_user)
    tenant = acting_user.tenant
    _check_kind(kind)
    with transaction.atomic():
        choice_list, _created = ChoiceList.objects.select_for_update().get_or_create(tenant=tenant, kind=kind)
        if choice_list.allow_other != bool(allow_other):
            choice_list.allow_other = bool(allow_other)
            choice_list.save(update_fields=["allow_other", "updated_at"])
            audit(
                tenant=tenant,
                actor=acting_user,
                action="choice_list.update",
                obj=choice_list,
                details={"kind": kind, "allow_other": choice_list.allow_other},
            )
    return choice_list


def choice_entry_save(
    *,
    acting_user: User,
    kind: str,
    entry: ChoiceEntry | None = None,
    value: str = "",
    name_en: str = "",
    aliases: Iterable[str] = (),
    order: int = 0,
    active: bool = True,
) -> ChoiceEntry:
    """Add an entry (`entry` None) or change one. An entry's value is what records store, so it is set once; its
    English name, aliases, order and whether it is offered may change. A spelling names one entry of a list only."""
    require_admin(acting_user)
    tenant = acting_user.tenant
    _check_kind(kind)
    if entry is not None and (entry.tenant_id != tenant.pk or entry.kind != kind):
        raise DomainError(_("Choose a value of your company's list."))
    creating = entry is None
    value = entry.value if entry is not None else (value or "").strip()[:50]
    if not value:
        raise DomainError(_("Enter the value."), field="value")
    name_en = (name_en or "").strip()[:50]
    aliases = list(dict.fromkeys(a.strip()[:50] for a in aliases if a and a.strip()))
    others = ChoiceEntry.objects.filter(tenant=tenant, kind=kind).exclude(pk=entry.pk if entry else None)
    if creating and others.filter(value__iexact=value).exists():
        raise DomainError(_("The list already has “%(value)s”.") % {"value": value}, field="value")
    lookup = {
        spelling.casefold(): other.value
        for other in others
        for spelling in (other.value, other.name_en, *other.aliases)
        if spelling
    }
    for spelling in (value, name_en, *aliases):
        if spelling.casefold() in lookup:
            raise DomainError(
                _("“%(spelling)s” already stands for “%(value)s”.")
                % {"spelling": spelling, "value": lookup[spelling.casefold()]},
                field="aliases" if spelling in aliases else ("name_en" if spelling == name_en else "value"),
            )
    try:
        with transaction.atomic():
            if creating:
                entry = ChoiceEntry(tenant=tenant, kind=kind, value=value, created_by=acting_user)
            entry.name_en, entry.aliases = name_en, aliases
            entry.order, entry.active = max(0, min(int(order or 0), 32767)), bool(active)
            entry.save()
            audit(
                tenant=tenant,
                actor=acting_user,
                action="choice.create" if creating else "choice.update",
                obj=entry,
                details={"kind": kind, "value": value, "active": entry.active},
            )
    except IntegrityError:
        raise DomainError(_("The list already has “%(value)s”.") % {"value": value}, field="value") from None
    return entry


def choice_value_map(*, acting_user: User, kind: str, from_value: str, entry: ChoiceEntry) -> dict[str, int]:
    """Give every record of the company that carries `from_value` in `kind` the entry's value instead: one UPDATE
    of the customers (the recycle bin included) and one per later app's records (leads), audited with the counts."""
    require_admin(acting_user)
    tenant = acting_user.tenant
    _check_kind(kind)
    if entry.tenant_id != tenant.pk or entry.kind != kind:
        raise DomainError(_("Choose a value of your company's list."), field="entry")
    from_value = (from_value or "").strip()
    if not from_value:
        raise DomainError(_("Choose a value to map."), field="from_value")
    if from_value == entry.value:
        raise DomainError(_("“%(value)s” is already that value.") % {"value": from_value}, field="entry")
    with transaction.atomic():
        counts = {
            "customers": Customer.objects.filter(tenant=tenant, **{kind: from_value}).update(**{kind: entry.value})
        }
        for _receiver, result in choice_value_mapped.send(
            sender=ChoiceEntry, tenant=tenant, kind=kind, from_value=from_value, to_value=entry.value
        ):
            counts.update(result or {})
        audit(
            tenant=tenant,
            actor=acting_user,
            action="choice.map",
            obj=entry,
            details={"kind": kind, "from": from_value, "to": entry.value, **counts},
        )
    return counts
