"""Contexts of the core app's home-page widgets; each runs a fixed, small number of queries."""

from django.db.models import Count, Q

from .models import Notification, Role, Team, User
from .selectors.audit import audit_events_for, describe


def profile(request) -> dict:
    user = request.user
    team = Team.objects.for_tenant(request.tenant).filter(pk=user.team_id).select_related("manager").first()
    return {"team": team}


def admin_overview(request) -> dict:
    tenant = request.tenant
    users = User.objects.for_tenant(tenant)
    counts = users.aggregate(
        active=Count("pk", filter=Q(is_active=True)),
        inactive=Count("pk", filter=Q(is_active=False)),
        **{role: Count("pk", filter=Q(is_active=True, roles__contains=[role])) for role in Role.values},
    )
    by_role = [(label, counts[value]) for value, label in Role.choices]
    return {
        "user_counts": counts,
        "by_role": by_role,
        "team_count": Team.objects.for_tenant(tenant).count(),
        "recent_events": describe(list(audit_events_for(tenant)[:6]), tenant=tenant),
    }


def my_teams(request) -> dict:
    teams = list(Team.objects.managed_by(request.user).order_by("path"))
    members = (
        User.objects.for_tenant(request.tenant)
        .filter(team__in=[t.pk for t in teams], is_active=True)
        .order_by("full_name")
    )
    by_team: dict[int, list] = {}
    for member in members:
        by_team.setdefault(member.team_id, []).append(member)
    for team in teams:
        team.active_members = by_team.get(team.pk, [])
    return {"teams": teams}


def latest_notifications(request) -> dict:
    latest = Notification.objects.for_tenant(request.tenant).filter(recipient=request.user)[:5]
    return {"latest": latest}
