"""Writes of saved views: save (or replace by name) and delete; a manager may share one with a team they manage."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from crm.access import require_tenant_user
from crm.errors import DomainError
from crm.models import Team, User
from crm.savedviews.models import LISTS, SavedView
from crm.services.audit import audit

# Never saved: the page and whatever is not a filter of the list.
NOT_SAVED = {"page", "csrfmiddlewaretoken"}


def clean_query(query: str) -> str:
    """The list's query string without its page number (a saved view opens on its first page)."""
    pairs = [(k, v) for k, v in parse_qsl(query or "", keep_blank_values=False) if k not in NOT_SAVED]
    return urlencode(pairs)[:2000]


def saved_view_save(*, acting_user: User, list_name: str, name: str, query: str, team: Team | None = None) -> SavedView:
    """Save the list's current filters under `name` (the same name on the same list replaces them). `team`: a
    manager shares it with a team they manage (and its sub-teams)."""
    require_tenant_user(acting_user)
    name = (name or "").strip()
    if list_name not in LISTS:
        raise DomainError(_("These filters cannot be saved."))
    if not name:
        raise DomainError(_("Give the view a name."), field="name")
    if len(name) > 80:
        raise DomainError(_("Too long: at most %(max)d characters.") % {"max": 80}, field="name")
    if team is not None and not Team.objects.managed_by(acting_user).filter(pk=team.pk).exists():
        raise DomainError(_("Share only with a team you manage."), field="team")
    with transaction.atomic():
        view, created = SavedView.objects.update_or_create(
            tenant_id=acting_user.tenant_id,
            owner=acting_user,
            list_name=list_name,
            name=name,
            defaults={"query": clean_query(query), "team": team, "created_by": acting_user},
        )
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="savedview.save",
            obj=view,
            details={"list": list_name, "team": team.pk if team else None, "created": created},
        )
    return view


def saved_view_delete(*, acting_user: User, view: SavedView) -> None:
    """Only its owner deletes a saved view (a shared one disappears for the team too)."""
    if view.owner_id != acting_user.pk:
        raise PermissionDenied(_("Only the person who saved a view deletes it."))
    with transaction.atomic():
        audit(tenant=acting_user.tenant, actor=acting_user, action="savedview.delete", obj=view)
        view.delete()
