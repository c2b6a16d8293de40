"""Access to tickets: who works the service desk, one ticket for a user, the agents a ticket may go to."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from crm.access import is_tenant_user, require_admin
from crm.models import Role, Team, User
from customers.models import Customer
from service.models import Article, Ticket, TicketAttachment

DESK_ROLES = (Role.ADMIN, Role.MANAGER, Role.AGENT)


def works_desk(user) -> bool:
    """Agents, their managers and admins work tickets; reps only read their customers' tickets."""
    return is_tenant_user(user) and user.has_any_role(*DESK_ROLES)


def require_desk(user) -> None:
    if not works_desk(user):
        raise PermissionDenied(_("Only service agents, managers and administrators work tickets."))


def require_kb_writer(user) -> None:
    """The service desk writes the knowledge base; everyone of the tenant reads it."""
    if not works_desk(user):
        raise PermissionDenied(_("Only service agents, managers and administrators write articles."))


def get_article_for_user(user: User, pk: int) -> Article:
    """A knowledge-base article the user may read, or 404 (missing, another company's, or a draft they do not
    see)."""
    return get_object_or_404(Article.objects.visible_to(user).select_related("category", "updated_by"), pk=pk)


def get_ticket_for_user(user: User, pk: int) -> Ticket:
    """The ticket or 404 (missing and not yours alike)."""
    return get_object_or_404(
        Ticket.objects.visible_to(user).select_related(
            "customer", "contact", "category", "assignee", "team", "sla_policy"
        ),
        pk=pk,
    )


def get_attachment_for_user(user: User, pk: int) -> TicketAttachment:
    """A file of a ticket the user sees, or 404 (missing, another company's, or on a ticket they do not see)."""
    return get_object_or_404(
        TicketAttachment.objects.filter(tenant_id=user.tenant_id, ticket__in=Ticket.objects.visible_to(user)), pk=pk
    )


def can_work(user: User, ticket: Ticket) -> bool:
    return works_desk(user) and Ticket.objects.workable_by(user).filter(pk=ticket.pk).exists()


def require_work(user: User, ticket: Ticket) -> None:
    if not can_work(user, ticket):
        raise PermissionDenied(_("You may read this ticket but not change it."))


def assignable_agents(user: User):
    """The agents `user` may give a ticket to: every active agent for admins and managers, an agent's colleagues
    of their team and the teams under it (and themself) for agents."""
    if not works_desk(user):
        return User.objects.none()
    agents = User.objects.for_tenant(user.tenant).filter(is_active=True).with_role(Role.AGENT)
    if user.has_any_role(Role.ADMIN, Role.MANAGER):
        return agents
    if user.team_id:
        teams = Team.objects.filter(tenant_id=user.tenant_id, path__startswith=user.team.path).values("pk")
        return agents.filter(team__in=teams) | agents.filter(pk=user.pk)
    return agents.filter(pk=user.pk)


def ticket_customers(user: User):
    """The customers a ticket may be raised for: agents serve every live customer of the tenant (they answer
    whoever calls); managers and admins as well; reps raise none."""
    if not works_desk(user):
        return Customer.objects.none()
    return Customer.objects.filter(tenant_id=user.tenant_id, deleted_at__isnull=True)


def get_for_admin(user: User, model, pk: int):
    """A settings row of the user's tenant (404 for another tenant's id, for everyone), then 403 for non-admins."""
    obj = get_object_or_404(model.objects.filter(tenant_id=user.tenant_id), pk=pk)
    require_admin(user)
    return obj
