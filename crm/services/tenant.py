"""Writes of tenants: a new company with its first administrator, public sign-up with email verification (and the
purge of companies never verified), company settings."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from crm.access import require_tenant_admin
from crm.errors import DomainError
from crm.files import file_save
from crm.models import Role, Team, Tenant, User
from crm.services import notification
from crm.services.audit import audit
from crm.signals import tenant_created, tenant_updated
from crm.tenancy import tenant_context
from crm.workcalendar.signals import calendar_changed

logger = logging.getLogger(__name__)

SIGNUP_SALT = "crm.signup.verify"


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
    pending: bool = False,
) -> Tenant:
    """Create a tenant with its first administrator and default team; other apps add their defaults through the
    `tenant_created` signal (e.g. the default pool). Runs in the new tenant's context, whoever calls it (sign-up,
    an operator's command). A `pending` tenant (a public sign-up) is created inactive, awaiting verification, with
    an inactive administrator; its creation is audited once verified, since the audit log is append-only and a
    pending tenant may be purged."""
    email = admin_email.strip().lower()
    if Tenant.objects.filter(slug=slug).exists():
        raise DomainError(_("This address is already taken; choose another."), field="slug")
    if User.objects.filter(email__iexact=email).exists():
        raise DomainError(_("A user with this email already exists."), field="admin_email")
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(
                name=name,
                slug=slug,
                language=language,
                timezone=timezone_name,
                is_active=not pending,
                awaiting_verification=pending,
            )
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
                    is_active=not pending,
                )
                if not pending:
                    audit(
                        tenant=tenant, actor=actor or admin, action="tenant.create", obj=tenant, details={"slug": slug}
                    )
                tenant_created.send(sender=Tenant, tenant=tenant, admin=admin)
    except IntegrityError as exc:
        # Two sign-ups racing for the same slug or email: the database decides, the loser gets the same message.
        raise DomainError(_("This address or email was just taken; choose another.")) from exc
    return tenant


def tenant_update(*, acting_user: User, tenant: Tenant, **fields: Any) -> Tenant:
    require_tenant_admin(acting_user, tenant)
    allowed = {
        "name",
        "timezone",
        "language",
        "currency",
        "phone_region",
        "require_admin_two_factor",
        "daily_reveal_limit",
    }
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
            tenant_updated.send(sender=Tenant, tenant=tenant, changes=changes, acting_user=acting_user)
        if "timezone" in changes:
            # The company's local days moved: what is computed from them is recomputed (ticket deadlines, the
            # customers' fall-back dates).
            transaction.on_commit(lambda: calendar_changed.send(sender=Tenant, tenant=tenant))
    return tenant


def tenant_sign_up(
    *, name: str, slug: str, admin_email: str, admin_password: str, admin_name: str, language: str
) -> Tenant | None:
    """Public sign-up. The company is created inactive, awaiting verification, and a signed link is emailed to
    `admin_email`; nobody logs in until it is opened. The answer never says whether the email has an account: for
    one that has, nothing is created (None) and its owner is told someone tried. A pending sign-up of the same email
    never blocks it (it is replaced), so an address cannot be squatted. The short name is public (it is in the
    company's form addresses), so a taken one is refused on its field."""
    email = admin_email.strip().lower()
    existing = User.objects.filter(email__iexact=email).select_related("tenant").first()
    if existing is not None and not (existing.tenant and existing.tenant.awaiting_verification):
        _tell_of_attempt(existing)
        return None
    with transaction.atomic():
        if existing is not None:
            _purge(existing.tenant_id, reason="replaced by a new sign-up of its email")
        try:
            tenant = tenant_create(
                name=name,
                slug=slug,
                admin_email=email,
                admin_password=admin_password,
                admin_name=admin_name,
                language=language,
                pending=True,
            )
        except DomainError as exc:
            if exc.field == "slug":
                raise
            # The email was taken meanwhile by a concurrent sign-up: the same answer as for any taken email.
            return None
        admin = User.objects.get(tenant=tenant, email=email)
        link = settings.SITE_URL + reverse(
            "signup_verify", args=[signing.dumps({"t": tenant.pk, "u": admin.pk}, salt=SIGNUP_SALT)]
        )
        with tenant_context(tenant.pk):
            notification.message_queue(
                tenant_id=tenant.pk,
                recipient=admin,
                to_address=email,
                subject=notification.render_in_language(
                    notification.lazy_format(
                        gettext_lazy("Confirm your email to open %(company)s's CRM"), company=tenant.name
                    ),
                    language,
                ),
                body=notification.render_in_language(
                    notification.lazy_format(
                        gettext_lazy(
                            "Open this link within %(days)d days to confirm your email and start using %(company)s's "
                            "CRM: %(link)s\n\nIf you did not sign up, ignore this email: nothing will be kept."
                        ),
                        days=settings.SIGNUP_VERIFY_DAYS,
                        company=tenant.name,
                        link=link,
                    ),
                    language,
                ),
                key=f"signup-verify:{admin.pk}",
            )
    return tenant


def _tell_of_attempt(user: User) -> None:
    """Someone signed up with the address of an existing account: its owner hears of it (at most once a day)."""
    with tenant_context(user.tenant_id):
        notification.message_queue(
            tenant_id=user.tenant_id,
            recipient=user,
            to_address=user.email,
            subject=notification.render_in_language(
                gettext_lazy("Someone tried to sign up with your email"), user.effective_language
            ),
            body=notification.render_in_language(
                notification.lazy_format(
                    gettext_lazy(
                        "Someone tried to create a new company with this email address, which already has an account. "
                        "If it was you, log in at %(link)s (or reset your password there). Otherwise ignore this email."
                    ),
                    link=settings.SITE_URL + reverse("login"),
                ),
                user.effective_language,
            ),
            key=f"signup-attempt:{user.pk}:{timezone.now().date().isoformat()}",
        )


def tenant_verify_sign_up(*, token: str) -> tuple[User, bool]:
    """Open a signed-up company from its emailed link: the company and its first administrator become active.
    Returns the administrator and whether this call verified it (False: it was verified before). A forged link, or
    one older than SIGNUP_VERIFY_DAYS, is refused."""
    try:
        data = signing.loads(token, salt=SIGNUP_SALT, max_age=dt.timedelta(days=settings.SIGNUP_VERIFY_DAYS))
        tenant_id, user_id = int(data["t"]), int(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise DomainError(_("This link is not valid or has expired. Sign up again.")) from exc
    with transaction.atomic(), tenant_context(tenant_id):
        tenant = Tenant.objects.select_for_update().filter(pk=tenant_id).first()
        admin = User.objects.filter(pk=user_id, tenant_id=tenant_id).first()
        if tenant is None or admin is None:
            raise DomainError(_("This link is not valid or has expired. Sign up again."))
        if not tenant.awaiting_verification:
            return admin, False
        Tenant.objects.filter(pk=tenant.pk).update(is_active=True, awaiting_verification=False)
        User.objects.filter(pk=admin.pk).update(is_active=True)
        audit(
            tenant=tenant,
            actor=admin,
            action="tenant.create",
            obj=tenant,
            details={"slug": tenant.slug, "verified": True},
        )
    admin.refresh_from_db()
    return admin, True


def unverified_tenant_ids(*, now: dt.datetime | None = None) -> list[int]:
    """Sign-ups whose verification window has passed."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.SIGNUP_VERIFY_DAYS)
    return list(
        Tenant.objects.filter(awaiting_verification=True, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def tenant_purge_if_unverified(*, tenant_id: int, now: dt.datetime | None = None) -> bool:
    """Remove a signed-up company never verified within the window, with everything it holds. Idempotent and safe
    to run concurrently: the tenant's row is locked, its state checked again, and a gone tenant is skipped."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.SIGNUP_VERIFY_DAYS)
    with transaction.atomic():
        tenant = (
            Tenant.objects.select_for_update(skip_locked=True)
            .filter(pk=tenant_id, awaiting_verification=True, created_at__lt=cutoff)
            .first()
        )
        if tenant is None:
            return False
        _purge(tenant.pk, reason="email never verified")
    return True


def tenant_purge_unverified(*, now: dt.datetime | None = None) -> int:
    """Purge every sign-up whose window has passed; returns how many."""
    return sum(tenant_purge_if_unverified(tenant_id=pk, now=now) for pk in unverified_tenant_ids(now=now))


def _purge(tenant_id: int, *, reason: str) -> None:
    """Delete a never-verified company with the rows that cascade from it (it wrote no audit rows), in its context so
    that row-level security shows them."""
    with tenant_context(tenant_id):
        Tenant.objects.filter(pk=tenant_id, awaiting_verification=True).delete()
    logger.info("Unverified sign-up of tenant %s removed: %s", tenant_id, reason)


# A logo is recognised by its first bytes (never by its name or the browser's word): PNG or JPEG.
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
LOGO_MAX_BYTES = 512 * 1024


def logo_content_type(head: bytes) -> str | None:
    """ "image/png" or "image/jpeg" from a file's first bytes; None for anything else."""
    return next((kind for magic, kind in LOGO_TYPES.items() if head.startswith(magic)), None)


def tenant_logo_set(*, acting_user: User, tenant: Tenant, upload) -> Tenant:
    """An administrator sets the company's logo (PNG or JPEG of at most 512 KB), replacing the previous one, or
    removes it (`upload` None). Stored through Django's default storage; audited."""
    require_tenant_admin(acting_user, tenant)
    if upload is not None:
        if not upload.size:
            raise DomainError(_("Choose a file."), field="logo_upload")
        if upload.size > LOGO_MAX_BYTES:
            raise DomainError(_("The logo is larger than 512 KB."), field="logo_upload")
        head = upload.read(8)
        upload.seek(0)
        if logo_content_type(head) is None:
            raise DomainError(_("The logo must be a PNG or JPEG image."), field="logo_upload")
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        previous = tenant.logo.name
        if upload is None:
            if not previous:
                return tenant
            tenant.logo = ""
        else:
            name = "logo.png" if logo_content_type(head) == "image/png" else "logo.jpg"
            file_save(tenant.logo, name, upload)
        tenant.save(update_fields=["logo"])
        audit(
            tenant=tenant,
            actor=acting_user,
            action="tenant.logo",
            obj=tenant,
            details={"size": upload.size if upload is not None else 0},
        )
        if previous:
            storage = tenant.logo.storage
            transaction.on_commit(lambda: storage.delete(previous))
    return tenant
