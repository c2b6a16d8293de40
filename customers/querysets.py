"""Reads of customers and pools: the two selectors of DESIGN.md §3 (`visible_to` and `in_pools_for`), never mixed."""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Length, Substr

from crm.access import is_sales_user, is_tenant_user
from crm.expressions import InArray
from crm.models import Role, Team, TenantQuerySet, User


def visible_owners(user) -> models.QuerySet:
    """The users whose customers `user` sees as an owner would: themselves, and for a manager every user of the
    teams they manage (recursively)."""
    owners = User.objects.filter(tenant_id=user.tenant_id)
    if user.has_any_role(Role.MANAGER):
        return (
            owners.filter(Q(pk=user.pk) | Q(team__in=Team.objects.managed_by(user).values("pk")))
            .order_by()
            .values("pk")
        )
    return owners.filter(pk=user.pk).order_by().values("pk")


class CustomerQuerySet(TenantQuerySet):
    def live(self) -> CustomerQuerySet:
        return self.filter(deleted_at__isnull=True)

    def visible_to(self, user) -> CustomerQuerySet:
        """Owned customers `user` holds or may see: their own, their managed teams' (recursively), those shared
        with them, or all of the tenant's for an admin. One SQL query; pool customers are not in it.
        Fails closed: no user or no tenant gives no rows."""
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id, deleted_at__isnull=True, owner__isnull=False)
        if user.has_any_role(Role.ADMIN):
            return qs
        # The owners whose customers I see and the customers shared with me are each computed once (InitPlans), so
        # the rows come from the owner and primary-key indexes (a BitmapOr) instead of a filter on every row.
        share = apps.get_model("customers", "CustomerUserObjectPermission")
        shared = share.objects.filter(user_id=user.pk, tenant_id=user.tenant_id).values("content_object_id")
        return qs.filter(Q(InArray("owner_id", visible_owners(user))) | Q(InArray("pk", shared)))

    def in_pools_for(self, user, pools=None) -> CustomerQuerySet:
        """Unowned live customers in the pools `user` may see (drives /pool/). Only sales roles see pools'
        customers: fails closed for anyone else.

        `pools`, when the caller has already read `Pool.objects.visible_to(user)`, puts their ids into the query as
        values: the planner then reads one pool's customers off its (pool, created) index in the page's order,
        where a subquery of pools hides which pool it is (and it reads the pool's rows by the bare foreign key)."""
        if not is_sales_user(user):
            return self.none()
        pool = apps.get_model("customers", "Pool")
        if pools is None:
            pool_ids = pool.objects.visible_to(user).values("pk")
        else:
            pool_ids = [p.pk for p in pools if p.tenant_id == user.tenant_id]
        return self.filter(
            tenant_id=getattr(user, "tenant_id", None),
            owner__isnull=True,
            deleted_at__isnull=True,
            pool__in=pool_ids,
        )

    def editable_by(self, user) -> CustomerQuerySet:
        """The visible customers `user` may also change: own, managed, admin, or shared with change permission."""
        if not is_tenant_user(user):
            return self.none()
        qs = self.visible_to(user)
        if user.has_any_role(Role.ADMIN):
            return qs
        share = apps.get_model("customers", "CustomerUserObjectPermission")
        condition = Q(owner_id=user.pk) | Q(
            Exists(
                share.objects.filter(
                    content_object=OuterRef("pk"),
                    user_id=user.pk,
                    tenant_id=user.tenant_id,
                    permission__codename="change_customer",
                )
            )
        )
        if user.has_any_role(Role.MANAGER):
            condition |= Q(owner__team__in=Team.objects.managed_by(user).values("pk"))
        return qs.filter(condition)

    def managed_by(self, user) -> CustomerQuerySet:
        """Customers a manager (or admin) may transfer: their teams' (or all, for an admin)."""
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id, deleted_at__isnull=True, owner__isnull=False)
        if user.has_any_role(Role.ADMIN):
            return qs
        if user.has_any_role(Role.MANAGER):
            return qs.filter(owner__team__in=Team.objects.managed_by(user).values("pk"))
        return qs.none()

    def quiet_since(self, moment) -> CustomerQuerySet:
        """Customers whose last follow-up is before `moment` or, never followed up, that their owner took over
        before it (the activity report's "not followed up for N days" and the customer list's filter of that name)."""
        return self.filter(
            models.Q(last_followed_up_at__lt=moment)
            | models.Q(last_followed_up_at__isnull=True, owned_since__lt=moment)
        )

    def in_trash_for(self, user) -> CustomerQuerySet:
        """Deleted customers `user` may restore: those they deleted or held, their teams', or all for an admin."""
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id, deleted_at__isnull=False)
        if user.has_any_role(Role.ADMIN):
            return qs
        condition = Q(owner_id=user.pk) | Q(deleted_by_id=user.pk)
        if user.has_any_role(Role.MANAGER):
            condition |= Q(owner__team__in=Team.objects.managed_by(user).values("pk"))
        return qs.filter(condition)


class ContactQuerySet(TenantQuerySet):
    def visible_to(self, user) -> models.QuerySet:
        customer = apps.get_model("customers", "Customer")
        return self.filter(customer__in=customer.objects.visible_to(user).values("pk"))


class PoolQuerySet(TenantQuerySet):
    """Pools seen by the teams they name: customer pools here, lead pools (sales) through `team_link`."""

    team_link = ("customers", "PoolTeam")

    def visible_to(self, user) -> PoolQuerySet:
        """Pools `user` may see: an admin all; others the pools naming their team or a team above it, and for a
        manager also the pools naming a team they manage."""
        if not is_tenant_user(user):
            return self.none()
        pools = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return pools
        pool_team = apps.get_model(*self.team_link)
        condition = Q(pk__in=[])
        if user.team_id:
            # The pool names my team or one of its ancestors: the named team's path is a prefix of mine.
            my_path = Team.objects.filter(pk=user.team_id).values("path")[:1]
            condition |= Q(
                Exists(
                    pool_team.objects.filter(pool=OuterRef("pk"), tenant_id=user.tenant_id).filter(
                        team__path=Substr(my_path, 1, Length("team__path"))
                    )
                )
            )
        if user.has_any_role(Role.MANAGER):
            condition |= Q(
                Exists(
                    pool_team.objects.filter(pool=OuterRef("pk"), team__in=Team.objects.managed_by(user).values("pk"))
                )
            )
        return pools.filter(condition)
