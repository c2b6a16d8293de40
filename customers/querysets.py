"""Reads of customers and pools: the two selectors of DESIGN.md §3 (`visible_to` and `in_pools_for`), never mixed."""

from __future__ import annotations

from typing import NamedTuple

from django.apps import apps
from django.contrib.postgres.expressions import ArraySubquery
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


class VisibleScope(NamedTuple):
    """Who a non-admin's customers are, read before the list's query: the owners whose customers they see and the
    customers shared with them (see `visible_scope`)."""

    owner_ids: tuple[int, ...]
    shared_ids: tuple[int, ...]


def visible_scope(user) -> VisibleScope | None:
    """The owners and shared customers of `visible_to(user)` as literal ids (None for an admin: every owner). One
    small query (a rep's owners are themselves; a manager's are read with the shares). Given to the main query as constants, they let the planner see that a rep's list is one owner's and
    read the per-owner sort indexes in order, where the subqueries of `visible_to` leave it guessing."""
    if not is_tenant_user(user) or user.has_any_role(Role.ADMIN):
        return None
    share = apps.get_model("customers", "CustomerUserObjectPermission")
    shared = share.objects.filter(user_id=user.pk, tenant_id=user.tenant_id).order_by().values("content_object_id")
    if user.has_any_role(Role.MANAGER):
        # Both lists in one query.
        owner_ids, shared_ids = (
            User.objects.filter(pk=user.pk)
            .annotate(owner_ids=ArraySubquery(visible_owners(user)), shared_ids=ArraySubquery(shared))
            .values_list("owner_ids", "shared_ids")
            .get()
        )
    else:
        owner_ids, shared_ids = [user.pk], list(shared.values_list("content_object_id", flat=True))
    owner_ids, shared_ids = tuple(sorted(set(owner_ids))), tuple(sorted(set(shared_ids)))
    return VisibleScope(owner_ids, shared_ids)


class CustomerQuerySet(TenantQuerySet):
    def live(self) -> CustomerQuerySet:
        return self.filter(deleted_at__isnull=True)

    def visible_to(self, user, scope: VisibleScope | None = None) -> CustomerQuerySet:
        """Owned customers `user` holds or may see: their own, their managed teams' (recursively), those shared
        with them, or all of the tenant's for an admin. One SQL query; pool customers are not in it.
        Fails closed: no user or no tenant gives no rows.

        With `scope` (`visible_scope(user)`, read just before), the same rows by the scope's literal ids: the big
        lists use it so that their sort indexes are read per owner (customers.selectors.listing)."""
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id, deleted_at__isnull=True, owner__isnull=False)
        if user.has_any_role(Role.ADMIN):
            return qs
        if scope is not None:
            condition = Q(owner_id__in=scope.owner_ids)
            if scope.shared_ids:
                condition |= Q(pk__in=scope.shared_ids)
            return qs.filter(condition)
        # The owners whose customers I see and the customers shared with me are each computed once (InitPlans), so
        # the rows come from the owner and primary-key indexes (a BitmapOr) instead of a filter on every row.
        share = apps.get_model("customers", "CustomerUserObjectPermission")
        shared = share.objects.filter(user_id=user.pk, tenant_id=user.tenant_id).values("content_object_id")
        return qs.filter(Q(InArray("owner_id", visible_owners(user))) | Q(InArray("pk", shared)))

    def visible_parts(self, user, scope: VisibleScope) -> list[CustomerQuerySet]:
        """`visible_to(user, scope)` of a non-admin as disjoint parts: one per owner, and the customers shared with
        `user` that other owners hold. Each part is an equality on the owner that a per-owner index serves in order;
        a list merges them (customers.selectors.listing)."""
        qs = self.filter(tenant_id=user.tenant_id, deleted_at__isnull=True, owner__isnull=False)
        parts = [qs.filter(owner_id=owner_id) for owner_id in scope.owner_ids]
        if scope.shared_ids:
            parts.append(qs.filter(pk__in=scope.shared_ids).exclude(owner_id__in=scope.owner_ids))
        return parts

    def visible_id_sets(self, user) -> tuple[CustomerQuerySet, CustomerQuerySet]:
        """The ids of a non-admin's `visible_to(user)` as two sets whose union it is: the customers of the visible
        owners, and those shared with `user`. A caller that only needs ids (`customer_id = ANY(...)` of another
        table) reads the first off the (tenant, owner, id) index alone, where the one set (owner OR shared) is a
        BitmapOr that reads every visible customer's row."""
        qs = self.filter(tenant_id=user.tenant_id, deleted_at__isnull=True, owner__isnull=False).order_by()
        share = apps.get_model("customers", "CustomerUserObjectPermission")
        shared = share.objects.filter(user_id=user.pk, tenant_id=user.tenant_id).values("content_object_id")
        return (
            qs.filter(InArray("owner_id", visible_owners(user))).values("pk"),
            qs.filter(pk__in=shared).values("pk"),
        )

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
