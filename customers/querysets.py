"""Reads of customers: the two selectors of DESIGN.md §3, never mixed."""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Q

from crm.models import Role, Team, TenantQuerySet


def _is_tenant_user(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active and user.tenant_id)


class CustomerQuerySet(TenantQuerySet):
    def live(self) -> CustomerQuerySet:
        return self.filter(deleted_at__isnull=True)

    def visible_to(self, user) -> CustomerQuerySet:
        """Owned customers `user` holds or may see: their own, their managed teams' (recursively), those shared
        with them, or all of the tenant's for an admin. One SQL query; pool customers are not in it.
        Fails closed: no user or no tenant gives no rows."""
        if not _is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id, deleted_at__isnull=True, owner__isnull=False)
        if user.has_any_role(Role.ADMIN):
            return qs
        share = apps.get_model("customers", "CustomerUserObjectPermission")
        condition = Q(owner_id=user.pk) | Q(
            Exists(share.objects.filter(content_object=OuterRef("pk"), user_id=user.pk, tenant_id=user.tenant_id))
        )
        if user.has_any_role(Role.MANAGER):
            managed = Team.objects.managed_by(user).values("pk")
            condition |= Q(owner__team__in=managed)
        return qs.filter(condition)

    def editable_by(self, user) -> CustomerQuerySet:
        """The visible customers `user` may also change: own, managed, admin, or shared with change permission."""
        if not _is_tenant_user(user):
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
        if not _is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id, deleted_at__isnull=True, owner__isnull=False)
        if user.has_any_role(Role.ADMIN):
            return qs
        if user.has_any_role(Role.MANAGER):
            return qs.filter(owner__team__in=Team.objects.managed_by(user).values("pk"))
        return qs.none()

    def in_trash_for(self, user) -> CustomerQuerySet:
        """Deleted customers `user` may restore: those they deleted or held, their teams', or all for an admin."""
        if not _is_tenant_user(user):
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
