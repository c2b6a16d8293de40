"""Personal API tokens: made (the secret returned once), revoked, and found from a request's bearer value."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import require_tenant_user
from crm.errors import DomainError
from crm.models import Role, User
from crm.services.audit import audit
from crm.tenancy import tenant_context

from ..models import ApiToken

# A token reads "crm_<tenant id>_<secret>": the tenant id lets the lookup run in that tenant's context, so the token
# table stays under row-level security like every other tenant table.
TOKEN_PREFIX = "crm_"
MAX_TOKENS_PER_USER = 20
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(
    *, acting_user: User, name: str, scope: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Make a token for `acting_user`; returns it with its secret, which is never stored nor shown again."""
    require_tenant_user(acting_user)
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the token a name."), field="name")
    if scope not in ApiToken.Scope.values:
        raise DomainError(_("Choose read or read and write."), field="scope")
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError(_("The expiry date must be in the future."), field="expires_at")
    if ApiToken.objects.visible_to(acting_user).filter(user=acting_user).usable().count() >= MAX_TOKENS_PER_USER:
        raise DomainError(
            _("You already have %(count)d active tokens: revoke one first.") % {"count": MAX_TOKENS_PER_USER}
        )
    raw = f"{TOKEN_PREFIX}{acting_user.tenant_id}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        tenant_id=acting_user.tenant_id,
        created_by=acting_user,
        user=acting_user,
        name=name,
        scope=scope,
        prefix=raw[: len(TOKEN_PREFIX) + len(str(acting_user.tenant_id)) + 7],
        digest=token_digest(raw),
        expires_at=expires_at,
    )
    audit(
        tenant=acting_user.tenant,
        actor=acting_user,
        action="api_token.create",
        obj=token,
        details={"scope": scope},
    )
    return token, raw


@transaction.atomic
def token_revoke(*, acting_user: User, token: ApiToken) -> ApiToken:
    """Revoke a token: its owner may, and an administrator may revoke any of the tenant's. Revoking twice is a no-op."""
    require_tenant_user(acting_user)
    locked = ApiToken.objects.visible_to(acting_user).select_for_update().filter(pk=token.pk).first()
    if locked is None or not (locked.user_id == acting_user.pk or acting_user.has_any_role(Role.ADMIN)):
        raise DomainError(_("This token cannot be revoked by you."))
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.revoked_by = acting_user
        locked.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
        audit(tenant=acting_user.tenant, actor=acting_user, action="api_token.revoke", obj=locked)
    return locked


def token_authenticate(raw: str) -> ApiToken | None:
    """The usable token behind a bearer value, with its user and tenant, or None (unknown, revoked, expired, its
    user deactivated or its company suspended). Notes when it was last used."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    tenant_part, _sep, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    if not tenant_part.isdigit() or not secret or len(raw) > 200:
        return None
    tenant_id = int(tenant_part)
    with tenant_context(tenant_id):
        token = (
            ApiToken.objects.usable()
            .select_related("user", "user__tenant")
            .filter(tenant_id=tenant_id, digest=token_digest(raw))
            .first()
        )
        if token is None:
            return None
        user = token.user
        if not user.is_active or user.tenant_id != tenant_id or not user.tenant.is_active:
            return None
        now = timezone.now()
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token
