"""A list's filters saved under a name: the user's own, or shared by a manager with a team (and its sub-teams)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length, Substr
from django.utils.translation import gettext_lazy as _

from crm.models import Team, TenantModel, TenantQuerySet

# The lists whose filters can be saved: a list's URL name (the page that reads the saved query string).
LISTS = ("customers:list", "contacts:list", "pool:list", "sales:lead_list", "sales:opportunity_list")


class SavedViewQuerySet(TenantQuerySet):
    def visible_to(self, user) -> SavedViewQuerySet:
        """The user's own views and those shared with their team or a team above it. Fails closed."""
        if not getattr(user, "is_authenticated", False) or user.tenant_id is None:
            return self.none()
        mine = self.filter(tenant_id=user.tenant_id)
        condition = Q(owner=user)
        if user.team_id:
            # Shared with the user's team or a team above it: its path is a prefix of the user's team's path.
            user_path = Team.objects.filter(pk=user.team_id).values("path")[:1]
            above = Team.objects.filter(
                pk=models.OuterRef("team_id"),
                path=Substr(models.Subquery(user_path), 1, Length("path")),
            )
            condition |= Q(models.Exists(above))
        return mine.filter(condition)


class SavedView(TenantModel):
    list_name = models.CharField(_("list"), max_length=50)
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Shared by a manager with this team and the teams under it; empty: the owner's own.
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "owner", "list_name", "name"], name="savedviews_one_name_per_list"
            )
        ]
        indexes = [models.Index(fields=["tenant", "list_name", "owner"], name="savedviews_list_owner")]

    def __str__(self) -> str:
        return self.name
