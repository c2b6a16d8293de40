"""Writes of users: invite, change roles and team, deactivate, language."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import require_tenant_admin
from crm.errors import DomainError
from crm.models import Role, Team, Tenant, User, validate_timezone
from crm.phones import normalize_phone
from crm.services.audit import audit
from crm.services.notification import lazy_format, message_queue, render_in_language
from crm.services.team import check_team
from crm.signals import user_deactivated


def _clean_roles(roles: list[str]) -> list[str]:
    valid = [r for r in Role.values if r in set(roles)]
    if len(valid) != len(set(roles)) or not valid:
        raise DomainError(_("Choose at least one valid role."), field="roles")
    return valid


def clean_user_phone(phone: str, tenant: Tenant) -> str:
    """A user's phone, validated and stored as a customer's phone is (E.164), or empty."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    normalized = normalize_phone(phone, tenant.phone_region or "CN")
    if normalized is None:
        raise DomainError(_("“%(value)s” is not a valid phone number.") % {"value": phone}, field="phone")
    return normalized


def password_set_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def user_create(
    *,
    acting_user: User,
    tenant: Tenant,
    email: str,
    full_name: str,
    roles: list[str],
    team: Team | None = None,
    phone: str = "",
    password: str | None = None,
    send_invite: bool = True,
) -> User:
    require_tenant_admin(acting_user, tenant)
    check_team(tenant, team)
    email = email.strip().lower()
    roles = _clean_roles(roles)
    phone = clean_user_phone(phone, tenant)
    if User.objects.filter(email__iexact=email).exists():
        raise DomainError(_("A user with this email already exists."), field="email")
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, tenant=tenant, full_name=full_name, roles=roles, team=team, phone=phone
            )
            audit(
                tenant=tenant,
                actor=acting_user,
                action="user.create",
                obj=user,
                details={"email": email, "roles": roles, "team": team.pk if team else None},
            )
            if send_invite:
                link = password_set_link(user)
                message_queue(
                    tenant_id=tenant.pk,
                    recipient=user,
                    to_address=email,
                    subject=render_in_language(
                        lazy_format(gettext_lazy("You are invited to %(company)s's CRM"), company=tenant.name),
                        user.effective_language,
                    ),
                    body=render_in_language(
                        lazy_format(
                            gettext_lazy("%(admin)s added you to %(company)s. Set your password here: %(link)s"),
                            admin=acting_user.full_name,
                            company=tenant.name,
                            link=link,
                        ),
                        user.effective_language,
                    ),
                    key=f"invite:{user.pk}",
                )
    except IntegrityError as exc:
        raise DomainError(_("A user with this email already exists."), field="email") from exc
    return user


def _active_admin_count(tenant: Tenant, excluding: User) -> int:
    return User.objects.for_tenant(tenant).with_role(Role.ADMIN).filter(is_active=True).exclude(pk=excluding.pk).count()


def user_update(
    *,
    acting_user: User,
    user: User,
    full_name: str,
    roles: list[str],
    team: Team | None,
    phone: str = "",
    language: str = "",
) -> User:
    tenant = user.tenant
    require_tenant_admin(acting_user, tenant)
    check_team(tenant, team)
    roles = _clean_roles(roles)
    phone = clean_user_phone(phone, tenant)
    with transaction.atomic():
        # Lock the tenant's admins so two admins demoting each other cannot leave the tenant with none.
        list(User.objects.for_tenant(tenant).with_role(Role.ADMIN).select_for_update().order_by("pk"))
        user.refresh_from_db()
        if user.has_any_role(Role.ADMIN) and Role.ADMIN not in roles and user.is_active:
            if _active_admin_count(tenant, user) == 0:
                raise DomainError(_("A company needs at least one active administrator."), field="roles")
        before = {
            "full_name": user.full_name,
            "roles": user.roles,
            "team": user.team_id,
            "phone": user.phone,
            "language": user.language,
        }
        user.full_name, user.roles, user.team, user.phone, user.language = full_name, roles, team, phone, language
        user.save()
        after = {
            "full_name": user.full_name,
            "roles": user.roles,
            "team": user.team_id,
            "phone": user.phone,
            "language": user.language,
        }
        changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if changes:
            audit(tenant=tenant, actor=acting_user, action="user.update", obj=user, details=changes)
    return user


def user_set_active(*, acting_user: User, user: User, active: bool) -> User:
    """Deactivate (never delete) or reactivate a user. A deactivated user cannot log in; their records stay."""
    tenant = user.tenant
    require_tenant_admin(acting_user, tenant)
    if not active and user.pk == acting_user.pk:
        raise DomainError(_("You cannot deactivate yourself."))
    with transaction.atomic():
        list(User.objects.for_tenant(tenant).with_role(Role.ADMIN).select_for_update().order_by("pk"))
        user.refresh_from_db()
        if user.is_active == active:
            return user
        if not active and user.has_any_role(Role.ADMIN) and _active_admin_count(tenant, user) == 0:
            raise DomainError(_("A company needs at least one active administrator."))
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit(tenant=tenant, actor=acting_user, action="user.activate" if active else "user.deactivate", obj=user)
        if not active:
            # Later apps react (e.g. the pool takes back the customers of a deactivated rep).
            user_deactivated.send(sender=User, user=user, acting_user=acting_user)
    return user


def user_set_language(*, user: User, language: str) -> User:
    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("Unknown language."))
    user.language = language
    user.save(update_fields=["language"])
    return user


def user_preferences_save(*, acting_user: User, language: str, time_zone: str) -> User:
    """A user's own preferences: the language and the time zone they read (empty: the company's)."""
    if language and language not in dict(settings.LANGUAGES):
        raise DomainError(_("Unknown language."), field="language")
    if time_zone:
        try:
            validate_timezone(time_zone)
        except ValidationError as exc:
            raise DomainError(_("Choose a time zone of the list."), field="time_zone") from exc
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=acting_user.pk)
        user.language, user.time_zone = language, time_zone
        user.save(update_fields=["language", "time_zone"])
    acting_user.language, acting_user.time_zone = language, time_zone
    return acting_user
