"""Writes of tenants: sign-up of a new company with its first administrator, company settings."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.access import require_tenant_admin
from crm.errors import DomainError
from crm.models import Role, Team, Tenant, User
from crm.services.audit import audit
from crm.signals import tenant_created
from crm.tenancy import tenant_context


def tenant_create(
    *,
    name: str,
    slug: str,
    admin_email: str,
    admin_password: str | None,
    admin_name: str = "",
    language: str = "zh-hans",
    timezone_name: str = "Asia/Shanghai",
    actor: User | None = None,
) -> Tenant:
    """Create a tenant with its first administrator and default team; other apps add their defaults through the
    `tenant_created` signal (e.g. the default pool). Runs in the new tenant's context, whoever calls it (sign-up,
    an operator's command)."""
    email = admin_email.strip().lower()
    if Tenant.objects.filter(slug=slug).exists():
        raise DomainError(_("This address is already taken; choose another."), field="slug")
    if User.objects.filter(email__iexact=email).exists():
        raise DomainError(_("A user with this email already exists."), field="admin_email")
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name, slug=slug, language=language, timezone=timezone_name)
            with tenant_context(tenant.pk):
                with translation.override(language):
                    team_name = pgettext("default team name", "Sales")
                team = Team.objects.create(tenant=tenant, name=team_name)
                team.path = f"/{team.pk}/"
                team.save(update_fields=["path"])
                admin = User.objects.create_user(
                    email=email,
                    password=admin_password,
                    tenant=tenant,
                    full_name=admin_name or email.split("@")[0],
                    roles=[Role.ADMIN],
                )
                audit(tenant=tenant, actor=actor or admin, action="tenant.create", obj=tenant, details={"slug": slug})
                tenant_created.send(sender=Tenant, tenant=tenant, admin=admin)
    except IntegrityError as exc:
        # Two sign-ups racing for the same slug or email: the database decides, the loser gets the same message.
        raise DomainError(_("This address or email was just taken; choose another.")) from exc
    return tenant


def tenant_update(*, acting_user: User, tenant: Tenant, **fields: Any) -> Tenant:
    require_tenant_admin(acting_user, tenant)
    allowed = {"name", "timezone", "language", "currency", "phone_region"}
    changes = {}
    with transaction.atomic():
        for name, value in fields.items():
            if name not in allowed:
                raise ValueError(name)
            if getattr(tenant, name) != value:
                changes[name] = [str(getattr(tenant, name)), str(value)]
                setattr(tenant, name, value)
        tenant.full_clean()
        tenant.save()
        if changes:
            audit(tenant=tenant, actor=acting_user, action="tenant.update", obj=tenant, details=changes)
    return tenant
