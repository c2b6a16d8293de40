"""Reads for the privacy log: where a lead's reveal links to."""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.urls import reverse

from crm.registry import registry


def lead_links(user, lead_ids: Iterable[int]) -> dict[int, str]:
    """The pages of the leads among `lead_ids` that `user` may see, by id; the others (gone, or not theirs) are
    left out. Sales stands above customers, so the lead model and its page come from the "lead" kind sales
    registers for the audit log (crm.registry.AuditKind). One query."""
    ids = {pk for pk in lead_ids if pk}
    kind = registry.audit_kind("lead")
    if not ids or kind is None or not kind.model or not kind.url_name:
        return {}
    model = apps.get_model(kind.model)
    visible = model.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)
    return {pk: reverse(kind.url_name, args=[pk]) for pk in visible}
