"""Reads of tickets: one `visible_to(user)` for every page, job-free and failing closed.

- admins: every ticket of the tenant;
- agents: tickets of their team and the teams under it, tickets assigned to them, and (to take work) tickets
  no team holds yet;
- managers: tickets of the teams they manage (recursively) or assigned to their members;
- reps (read only): the tickets of the customers they may see (`Customer.objects.visible_to`).
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import Exists, OuterRef, Q

from crm.access import is_tenant_user
from crm.models import Role, Team, TenantQuerySet


class ArticleQuerySet(TenantQuerySet):
    """Knowledge-base articles: everyone of the tenant reads the published ones, internal and public; the service
    desk (agents, managers, admins) also sees drafts and archived ones. The public pages read `public_of(tenant)`
    only."""

    def visible_to(self, user) -> ArticleQuerySet:
        """Deleted articles are gone for everyone; archived ones stay visible to the service desk only."""
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id, deleted_at__isnull=True)
        if user.has_any_role(Role.ADMIN, Role.MANAGER, Role.AGENT):
            return qs
        return qs.filter(status="published", archived_at__isnull=True)

    def current(self) -> ArticleQuerySet:
        """Published and not archived: what the ticket suggestions offer."""
        return self.filter(status="published", archived_at__isnull=True, deleted_at__isnull=True)

    def public_of(self, tenant) -> ArticleQuerySet:
        if tenant is None:
            return self.none()
        return self.filter(tenant_id=tenant.pk, visibility="public").current()


class TicketQuerySet(TenantQuerySet):
    def visible_to(self, user) -> TicketQuerySet:
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return qs
        condition = Q(pk__in=[])
        if user.has_any_role(Role.AGENT):
            condition |= Q(assignee_id=user.pk) | Q(team__isnull=True)
            if user.team_id:
                condition |= Q(team__path__startswith=user.team.path)
        if user.has_any_role(Role.MANAGER):
            managed = Team.objects.managed_by(user).values("pk")
            condition |= Q(team__in=managed) | Q(assignee__team__in=managed)
        if user.has_any_role(Role.REP, Role.MANAGER):
            customers = apps.get_model("customers", "Customer").objects.visible_to(user)
            condition |= Q(Exists(customers.filter(pk=OuterRef("customer_id"))))
        return qs.filter(condition)

    def workable_by(self, user) -> TicketQuerySet:
        """The visible tickets `user` may change: everything visible except what a rep sees through a customer."""
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return qs
        condition = Q(pk__in=[])
        if user.has_any_role(Role.AGENT):
            condition |= Q(assignee_id=user.pk) | Q(team__isnull=True)
            if user.team_id:
                condition |= Q(team__path__startswith=user.team.path)
        if user.has_any_role(Role.MANAGER):
            managed = Team.objects.managed_by(user).values("pk")
            condition |= Q(team__in=managed) | Q(assignee__team__in=managed)
        return qs.filter(condition)

    def open(self) -> TicketQuerySet:
        return self.filter(status__in=["new", "open", "pending"])
