"""The audit log as people read it: each event a sentence in the reader's language, its objects linked, a bulk
action or an import one event with its count.

The apps say how their actions read by registering `crm.registry.AuditAction`s (and the kinds of object they name
as `AuditKind`s); an action nobody registered reads as its code. Sentences are formatted when they are shown, so a
reader sees them in the language active for the request, whatever language the actor used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from crm.models import AuditEvent, Tenant, User
from crm.registry import AuditAction, registry

# The per-object events an import writes name their import in details["import"]: the log lists the import's one
# event and shows them only when it is expanded.
BATCH_KEY = "import"
# At most this many objects of one event are listed when it is expanded.
ITEMS_SHOWN = 200


def audit_events_for(tenant: Tenant | None) -> QuerySet[AuditEvent]:
    """The events the audit log lists for `tenant`, newest first: every event but the per-object rows of a batch.
    No tenant, no rows."""
    return (
        AuditEvent.objects.for_tenant(tenant)
        .exclude(details__has_key=BATCH_KEY)
        .select_related("actor")
        .order_by("-at", "-id")
    )


@dataclass
class AuditLine:
    event: AuditEvent
    sentence: SafeString
    text: str
    action_label: str
    count: int | None
    expandable: bool


def _count(action: AuditAction | None, details: dict) -> int | None:
    if action is None:
        return None
    if action.items:
        items = details.get(action.items)
        return len(items) if isinstance(items, list) else None
    if action.count:
        try:
            return int(details.get(action.count))
        except (TypeError, ValueError):
            return None
    return None


def _object_url(event: AuditEvent) -> str:
    kind = next((k for k in registry.audit_kinds() if k.model and k.model == event.object_type), None)
    if kind is None or not kind.url_name or not event.object_id:
        return ""
    try:
        return reverse(kind.url_name, args=[event.object_id])
    except NoReverseMatch:
        return ""


def _user_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def describe(events: list[AuditEvent], *, tenant: Tenant) -> list[AuditLine]:
    """One line per event, in the active language. The users the events name (a new owner, a colleague shared
    with) are read in one query; the actor comes with the event (select_related)."""
    actions = {e.pk: registry.audit_action(e.action) for e in events}
    user_ids = {
        uid
        for e in events
        if (a := actions[e.pk]) is not None and a.user and (uid := _user_id(e.details.get(a.user))) is not None
    }
    names = dict(User.objects.for_tenant(tenant).filter(pk__in=user_ids).values_list("pk", "full_name"))
    lines = []
    for event in events:
        action = actions[event.pk]
        details = event.details if isinstance(event.details, dict) else {}
        actor = (event.actor.full_name or event.actor.email) if event.actor is not None else _("The system")
        count = _count(action, details)
        url = _object_url(event)
        obj_html = format_html('<a href="{}">{}</a>', url, event.object_repr) if url else event.object_repr
        user = names.get(_user_id(details.get(action.user))) or "" if action is not None and action.user else ""
        text = str(details.get(action.text) or "") if action is not None and action.text else ""
        plain = {"actor": actor, "object": event.object_repr, "count": count or 0, "user": user, "text": text}
        html = {k: conditional_escape(v) if isinstance(v, str) else v for k, v in plain.items()}
        html["object"] = conditional_escape(obj_html)
        if action is not None:
            sentence, label = action.sentence, str(action.label or action.key)
        else:
            sentence, label = _("%(actor)s: %(action)s %(object)s"), event.action
            plain["action"] = html["action"] = event.action
        lines.append(
            AuditLine(
                event=event,
                sentence=mark_safe(str(sentence % html)),  # noqa: S308 - translated template, every value escaped
                text=str(sentence % plain),
                action_label=label,
                count=count,
                expandable=bool(action is not None and (action.items_kind or action.children) and count),
            )
        )
    return lines


@dataclass
class AuditItem:
    label: str
    url: str


def audit_items(event: AuditEvent) -> tuple[list[AuditItem], int]:
    """The objects one bulk event or import touched (at most ITEMS_SHOWN, linked where the kind has a page), and
    how many there are in all. Objects since deleted are listed by the name the event kept, else by id."""
    action = registry.audit_action(event.action)
    if action is None:
        return [], 0
    if action.children:
        children = AuditEvent.objects.for_tenant(event.tenant).filter(
            Q(details__has_key=BATCH_KEY), details__import=_int(event.object_id)
        )
        total = children.count()
        rows = children.order_by("id").values_list("object_type", "object_id", "object_repr")[:ITEMS_SHOWN]
        kinds = {k.model: k for k in registry.audit_kinds() if k.model}
        items = []
        for object_type, object_id, object_repr in rows:
            kind = kinds.get(object_type)
            items.append(AuditItem(object_repr, _reverse(kind.url_name, object_id) if kind else ""))
        return items, total
    ids = [i for i in (event.details.get(action.items) or []) if _user_id(i) is not None]
    kind = registry.audit_kind(action.items_kind)
    if kind is None or not kind.model:
        return [AuditItem(f"#{i}", "") for i in ids[:ITEMS_SHOWN]], len(ids)
    model = apps.get_model(kind.model)
    shown = ids[:ITEMS_SHOWN]
    found = dict(model._base_manager.filter(tenant_id=event.tenant_id, pk__in=shown).values_list("pk", "name"))
    # Objects since deleted: by the name the event kept (a purge keeps them in `item_names`), else by id.
    names = event.details.get("item_names") or {}
    items = [
        AuditItem(found[i], _reverse(kind.url_name, i)) if i in found else AuditItem(names.get(str(i), f"#{i}"), "")
        for i in shown
    ]
    return items, len(ids)


def _int(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _reverse(url_name: str, pk: Any) -> str:
    if not url_name:
        return ""
    try:
        return reverse(url_name, args=[pk])
    except NoReverseMatch:
        return ""
