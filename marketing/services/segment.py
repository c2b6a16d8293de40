"""Writes of segments: managers and admins save a named customer filter shared with a team they manage (admins:
any team, or the whole company), change it and delete it. Personal filters are the customer list's saved views."""

from __future__ import annotations

from types import SimpleNamespace

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Role, Team, User
from crm.services.audit import audit
from customers.filters import CustomerFilter
from marketing.access import can_change_segment, require_segments
from marketing.models import Segment
from marketing.selectors.segment import segment_filters


def clean_segment_filters(tenant, filters) -> dict[str, str]:
    """The segment's filters, checked with the customer list's own FilterSet: a value the tenant does not have
    (another company's level, a removed tag) is refused with the filter's name."""
    data = segment_filters(filters or {})
    filterset = CustomerFilter(data=data, request=SimpleNamespace(tenant=tenant, user=None))
    known = {name for name in filterset.filters if name not in ("q", "sort")}
    data = {k: v for k, v in data.items() if k in known}
    filterset = CustomerFilter(data=data, request=SimpleNamespace(tenant=tenant, user=None))
    if not filterset.is_valid():
        name = next(iter(filterset.form.errors))
        raise DomainError(
            _("The filter “%(filter)s” has a value this company does not have.")
            % {"filter": filterset.form.fields[name].label},
            field=name,
        )
    return data


def _check_team(acting_user: User, team: Team | None) -> None:
    if acting_user.has_any_role(Role.ADMIN):
        if team is not None and team.tenant_id != acting_user.tenant_id:
            raise DomainError(_("Share only with a team you manage."), field="team")
        return
    if team is None:
        raise DomainError(_("Only administrators share a segment with the whole company."), field="team")
    if not Team.objects.managed_by(acting_user).filter(pk=team.pk).exists():
        raise DomainError(_("Share only with a team you manage."), field="team")


def segment_save(
    *,
    acting_user: User,
    name: str,
    filters: dict,
    team: Team | None = None,
    description: str = "",
    segment: Segment | None = None,
) -> Segment:
    """Create a segment, or change `segment` (its owner or an admin)."""
    require_segments(acting_user)
    if segment is not None and not can_change_segment(acting_user, segment):
        raise DomainError(_("Only the manager who made this segment or an administrator changes it."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the segment a name."), field="name")
    _check_team(acting_user, team)
    cleaned = clean_segment_filters(acting_user.tenant, filters)
    with transaction.atomic():
        created = segment is None
        if created:
            segment = Segment(tenant_id=acting_user.tenant_id, owner=acting_user, created_by=acting_user)
        segment.name = name[:100]
        segment.description = (description or "").strip()[:300]
        segment.filters = cleaned
        segment.team = team
        try:
            with transaction.atomic():
                segment.save()
        except IntegrityError:
            raise DomainError(_("A segment of this name exists already."), field="name") from None
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="segment.create" if created else "segment.update",
            obj=segment,
            details={"filters": cleaned, "team": team.pk if team else None},
        )
    return segment


def segment_delete(*, acting_user: User, segment: Segment) -> None:
    require_segments(acting_user)
    if not can_change_segment(acting_user, segment):
        raise DomainError(_("Only the manager who made this segment or an administrator changes it."))
    with transaction.atomic():
        audit(tenant=acting_user.tenant, actor=acting_user, action="segment.delete", obj=segment)
        segment.delete()
