"""Demo saved views: the manager shares "falling back soonest" with the team they manage; a rep keeps their own
view of key accounts."""

from __future__ import annotations

from crm.models import Team, User
from crm.savedviews.models import SavedView
from crm.savedviews.services import saved_view_save


def seed_tenant(demo) -> None:
    tenant = demo.tenant
    if SavedView.objects.filter(tenant=tenant).exists():
        return
    users = {u.email.split("@")[0]: u for u in User.objects.for_tenant(tenant).filter(is_active=True)}
    manager, rep = users.get("manager"), users.get("rep1")
    if manager is not None:
        team = Team.objects.managed_by(manager).order_by("path").first()
        if team is not None:
            saved_view_save(
                acting_user=manager,
                list_name="customers:list",
                name="最快回公海",
                query="sort=fallback",
                team=team,
            )
    if rep is not None:
        saved_view_save(acting_user=rep, list_name="customers:list", name="我的重点客户", query="key_account=true")
