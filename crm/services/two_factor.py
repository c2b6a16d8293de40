"""Two-factor login (django-otp): an authenticator app's time-based codes (TOTP) plus ten single-use recovery codes.

A user sets it up from their own account page: a new, unconfirmed TOTP device is shown as a QR code, and one code
from the app confirms it; the recovery codes are made then and shown once. Operators (the installation's staff and
superusers) always need it; a tenant's admins need it when the tenant requires it (Tenant.require_admin_two_factor).
"""

from __future__ import annotations

import math
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.errors import DomainError
from crm.models import Role, User
from crm.services.audit import audit

RECOVERY_CODE_COUNT = 10
TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery"


def _audit(user: User, action: str) -> None:
    # Operators belong to no tenant and have no tenant audit trail; their sign-ins are in django-axes' access log.
    if user.tenant_id is not None:
        audit(tenant=user.tenant, actor=user, action=action, obj=user)


def two_factor_required(user: User) -> bool:
    """Whether this user may not use the CRM without a second factor."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return bool(user.tenant_id and user.has_any_role(Role.ADMIN) and user.tenant.require_admin_two_factor)


def two_factor_enabled(user: User) -> bool:
    return user_has_device(user, confirmed=True)


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def two_factor_start(*, user: User) -> TOTPDevice:
    """A new authenticator device waiting for its first code; an earlier unconfirmed one is replaced."""
    if two_factor_enabled(user):
        raise DomainError(_("Two-factor login is already on."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def pending_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _i in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def two_factor_confirm(*, user: User, token: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the waiting authenticator device with one of its codes; returns it and the new recovery codes, which
    are shown once and never again."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-pk").first()
        if device is None:
            raise DomainError(_("Start the set-up again: no authenticator is waiting for a code."))
        if not device.verify_token((token or "").strip().replace(" ", "")):
            raise DomainError(_("That code is not right. Enter the 6-digit code your app shows now."), field="token")
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        codes = _new_recovery_codes(user)
        _audit(user, "user.two_factor_on")
    return device, codes


def two_factor_match(*, user: User, token: str):
    """The confirmed device (authenticator or recovery code) that accepts `token`, or None. A recovery code is used
    up. django-otp makes each device wait after a failure (1, 2, 4… seconds): while every device is waiting, the
    code is not even tried and the user is told how long to wait."""
    token = (token or "").strip().replace(" ", "").lower()
    if not token:
        return None
    waits = []
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=True, for_verify=True):
            allowed, data = device.verify_is_allowed()
            if not allowed:
                if data and data.get("locked_until"):
                    waits.append(data["locked_until"])
                continue
            if device.verify_token(token):
                return device
    # Raised after the block: the failures just counted on the devices stay counted.
    if waits:
        seconds = max(1, math.ceil((min(waits) - timezone.now()).total_seconds()))
        raise DomainError(
            _("Too many wrong codes in a row: wait %(seconds)s seconds, then try again.") % {"seconds": seconds},
            field="token",
        )
    return None


def two_factor_new_recovery_codes(*, user: User, token: str) -> list[str]:
    """Replace the recovery codes (all earlier ones stop working), after a current code proves the user holds the
    authenticator."""
    # Matched outside the write's transaction, so a wrong code's failure stays counted (django-otp's throttling).
    device = two_factor_match(user=user, token=token)
    if not isinstance(device, TOTPDevice):
        raise DomainError(_("That code is not right. Enter the 6-digit code your app shows now."), field="token")
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        _audit(user, "user.two_factor_new_codes")
    return codes


def two_factor_disable(*, user: User, token: str) -> None:
    """Turn two-factor login off, after a current code (or a recovery code); refused while it is required."""
    if two_factor_required(user):
        raise DomainError(_("Your company requires two-factor login for you; it cannot be turned off."))
    if two_factor_match(user=user, token=token) is None:
        raise DomainError(_("That code is not right. Enter the 6-digit code your app shows now."), field="token")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        _audit(user, "user.two_factor_off")
