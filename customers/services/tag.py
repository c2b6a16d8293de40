"""A tenant's customer tags, kept by its admins: rename, recolour, remove."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.models import AssignmentRuleTag, Tag

TAG_COLORS = ("secondary", "primary", "success", "danger", "warning", "info", "dark")


def tag_save(*, acting_user: User, tag: Tag | None = None, name: str, color: str = "secondary") -> Tag:
    """Create a tag (`tag` None) or rename and recolour one; names are unique in the company."""
    require_admin(acting_user)
    tenant = acting_user.tenant
    if tag is not None and tag.tenant_id != tenant.pk:
        raise DomainError(_("Choose a tag of your company."))
    name = (name or "").strip()[:50]
    if not name:
        raise DomainError(_("Give the tag a name."), field="name")
    if color not in TAG_COLORS:
        raise DomainError(_("Choose one of the colours."), field="color")
    if Tag.objects.filter(tenant=tenant, name__iexact=name).exclude(pk=tag.pk if tag else None).exists():
        raise DomainError(_("There is already a tag %(name)s.") % {"name": name}, field="name")
    creating = tag is None
    try:
        with transaction.atomic():
            if creating:
                tag = Tag(tenant=tenant, created_by=acting_user)
            tag.name, tag.color = name, color
            tag.save()
            audit(
                tenant=tenant,
                actor=acting_user,
                action="tag.create" if creating else "tag.update",
                obj=tag,
                details={"name": name, "color": color},
            )
    except IntegrityError:
        raise DomainError(_("There is already a tag %(name)s.") % {"name": name}, field="name") from None
    return tag


def tag_delete(*, acting_user: User, tag: Tag) -> None:
    """Remove a tag: the customers that had it keep everything else. A tag an assignment rule matches on stays
    (without it the rule would match every record)."""
    require_admin(acting_user)
    if tag.tenant_id != acting_user.tenant_id:
        raise DomainError(_("Choose a tag of your company."))
    with transaction.atomic():
        if AssignmentRuleTag.objects.filter(tenant_id=tag.tenant_id, tag=tag).exists():
            raise DomainError(_("An assignment rule matches on this tag: change the rule first."))
        audit(tenant=acting_user.tenant, actor=acting_user, action="tag.delete", obj=tag, details={"name": tag.name})
        Tag.objects.filter(pk=tag.pk).delete()
