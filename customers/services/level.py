"""A tenant's customer levels (A/B/C…), kept by its admins: code, name, the aliases imports map to it, order."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.models import Customer, CustomerLevel


def level_save(
    *,
    acting_user: User,
    level: CustomerLevel | None = None,
    code: str,
    name: str,
    aliases: Iterable[str] = (),
    order: int = 0,
) -> CustomerLevel:
    """Create a level (`level` None) or change one. Codes are unique in the company; an alias may name one level
    only (an import must know which level 重点客户 means)."""
    require_admin(acting_user)
    tenant = acting_user.tenant
    if level is not None and level.tenant_id != tenant.pk:
        raise DomainError(_("Choose a level of your company."))
    code, name = (code or "").strip()[:10], (name or "").strip()[:50]
    if not code:
        raise DomainError(_("Give the level a code, such as A."), field="code")
    aliases = list(dict.fromkeys(a.strip()[:50] for a in aliases if a and a.strip()))
    others = CustomerLevel.objects.filter(tenant=tenant).exclude(pk=level.pk if level else None)
    if others.filter(code__iexact=code).exists():
        raise DomainError(_("Another level has the code %(code)s.") % {"code": code}, field="code")
    taken = others.filter(aliases__overlap=aliases).first() if aliases else None
    if taken is not None:
        raise DomainError(_("An alias is already one of %(level)s's.") % {"level": taken}, field="aliases")
    creating = level is None
    try:
        with transaction.atomic():
            if creating:
                level = CustomerLevel(tenant=tenant, created_by=acting_user)
            level.code, level.name, level.aliases, level.order = code, name or code, aliases, max(0, int(order or 0))
            level.save()
            audit(
                tenant=tenant,
                actor=acting_user,
                action="level.create" if creating else "level.update",
                obj=level,
                details={"code": code, "aliases": aliases},
            )
    except IntegrityError:
        raise DomainError(_("Another level has the code %(code)s.") % {"code": code}, field="code") from None
    return level


def level_delete(*, acting_user: User, level: CustomerLevel) -> None:
    """Remove a level no customer has (its pools' rules for that level go with it)."""
    require_admin(acting_user)
    if level.tenant_id != acting_user.tenant_id:
        raise DomainError(_("Choose a level of your company."))
    with transaction.atomic():
        locked = CustomerLevel.objects.select_for_update().filter(pk=level.pk).first()
        if locked is None:
            return
        in_use = Customer.objects.filter(tenant_id=level.tenant_id, level=level).count()
        if in_use:
            raise DomainError(
                _("%(count)d customers have this level: give them another one first.") % {"count": in_use}
            )
        audit(tenant=acting_user.tenant, actor=acting_user, action="level.delete", obj=level)
        locked.delete()
