"""Writes of the core app: tenants, users, teams, audit events, notifications and outgoing messages.

Each function is keyword-only, atomic, checks the acting user's permission, writes the audit event and returns
the changed object, or raises DomainError with a translated message.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.functional import Promise
from django.utils.http import urlsafe_base64_encode
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from .models import AuditEvent, Notification, OutboundMessage, Role, Team, Tenant, User
from .signals import tenant_created, user_deactivated
from .tenancy import tenant_context

logger = logging.getLogger(__name__)

MESSAGE_MAX_ATTEMPTS = 5


class DomainError(Exception):
    """A refused use case; its message is translated and safe to show to the user."""

    def __init__(self, message: Any, *, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


# --- permissions -------------------------------------------------------------------------------------------


def require_tenant_admin(user: User, tenant: Tenant) -> None:
    if not (user.is_authenticated and user.is_active and user.tenant_id == tenant.pk and user.has_role(Role.ADMIN)):
        raise PermissionDenied(_("Only administrators of this company may do that."))


# --- audit ---------------------------------------------------------------------------------------------------


def audit(
    *, tenant: Tenant | None, actor: User | None, action: str, obj: Any = None, details: dict | None = None
) -> AuditEvent:
    return AuditEvent.objects.create(
        tenant=tenant,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:255] if obj is not None else "",
        details=details or {},
    )


# --- notifications and messages ------------------------------------------------------------------------------


class LazyFormat:
    """A translatable message and its %-parameters, rendered only when turned into text — so notify() renders it
    in the recipient's language, not the language of whoever (or whichever job) triggered it."""

    def __init__(self, message: Any, **params: Any):
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return str(self.message) % {k: str(v) if isinstance(v, Promise) else v for k, v in self.params.items()}


def lazy_format(message: Any, **params: Any) -> LazyFormat:
    return LazyFormat(message, **params)


def _render(value: Any, language: str) -> str:
    with translation.override(language):
        return str(value)


def notify(
    *,
    recipient: User,
    title: Any,
    body: Any = "",
    url: str = "",
    key: str = "",
    email: bool = True,
) -> Notification:
    """Tell a user something: an in-app notification and, if asked, an email, in the recipient's language.

    With a `key`, calling again under the same key changes nothing (jobs may run twice). The email is a row
    committed with the notification and delivered after commit.
    """
    language = recipient.effective_language
    title_text = _render(title, language)[:255]
    body_text = _render(body, language)
    with transaction.atomic():
        if key:
            notification, created = Notification.objects.get_or_create(
                tenant_id=recipient.tenant_id,
                recipient=recipient,
                key=key,
                defaults={"title": title_text, "body": body_text, "url": url},
            )
            if not created:
                return notification
        else:
            notification = Notification.objects.create(
                tenant_id=recipient.tenant_id, recipient=recipient, title=title_text, body=body_text, url=url
            )
        if email and recipient.is_active and recipient.email:
            link = f"\n\n{settings.SITE_URL}{url}" if url else ""
            message_queue(
                tenant_id=recipient.tenant_id,
                recipient=recipient,
                to_address=recipient.email,
                subject=title_text,
                body=f"{body_text}{link}",
                key=f"notification:{notification.pk}",
            )
    return notification


def message_queue(
    *,
    tenant_id: int,
    to_address: str,
    body: str,
    key: str,
    subject: str = "",
    recipient: User | None = None,
    channel: str = OutboundMessage.Channel.EMAIL,
) -> OutboundMessage:
    """Write an outgoing message under its unique key (once) and deliver it after the transaction commits."""
    with transaction.atomic():
        message, created = OutboundMessage.objects.get_or_create(
            tenant_id=tenant_id,
            key=key,
            defaults={
                "channel": channel,
                "to_address": to_address,
                "subject": subject,
                "body": body,
                "recipient": recipient,
            },
        )
    if created:
        from .tasks import deliver_message

        transaction.on_commit(lambda: deliver_message.delay(tenant_id, message.pk))
    return message


class LogSmsBackend:
    """Default SMS backend: writes the message to the log. Replace through settings.SMS_BACKEND."""

    def send(self, *, to: str, body: str) -> None:
        logger.info("SMS to %s: %s", to, body)


def _send(message: OutboundMessage) -> None:
    if message.channel == OutboundMessage.Channel.SMS:
        backend = import_string(getattr(settings, "SMS_BACKEND", "crm.services.LogSmsBackend"))()
        backend.send(to=message.to_address, body=message.body)
    else:
        send_mail(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to_address])


def message_deliver(*, message_id: int) -> OutboundMessage | None:
    """Send one queued message. Claimed by a conditional UPDATE, so two workers never both send it.

    A crash between the claim and the final update leaves the row in "sending": admins see it as unknown and it is
    never re-sent blindly.
    """
    now = timezone.now()
    won = OutboundMessage.objects.filter(
        pk=message_id, status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=now
    ).update(status=OutboundMessage.Status.SENDING, sending_since=now, attempts=F("attempts") + 1)
    if not won:
        return None
    message = OutboundMessage.objects.get(pk=message_id)
    try:
        _send(message)
    except Exception as exc:  # noqa: BLE001 - any backend failure is recorded and retried with backoff
        logger.warning("Delivery of message %s failed: %s", message_id, exc)
        final = message.attempts >= MESSAGE_MAX_ATTEMPTS
        OutboundMessage.objects.filter(pk=message_id, status=OutboundMessage.Status.SENDING).update(
            status=OutboundMessage.Status.FAILED if final else OutboundMessage.Status.QUEUED,
            last_error=str(exc)[:2000],
            next_attempt_at=now + timedelta(minutes=2**message.attempts),
            sending_since=None,
        )
        message.refresh_from_db()
        return message
    OutboundMessage.objects.filter(pk=message_id, status=OutboundMessage.Status.SENDING).update(
        status=OutboundMessage.Status.SENT, sent_at=timezone.now(), sending_since=None, last_error=""
    )
    message.refresh_from_db()
    return message


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    notification = Notification.objects.for_tenant(user.tenant).get(pk=notification_id, recipient=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at", "updated_at"])
    return notification


def notification_mark_all_read(*, user: User) -> int:
    return (
        Notification.objects.for_tenant(user.tenant)
        .filter(recipient=user, read_at__isnull=True)
        .update(read_at=timezone.now(), updated_at=timezone.now())
    )


# --- tenants -------------------------------------------------------------------------------------------------


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


# --- users ---------------------------------------------------------------------------------------------------


def _check_team(tenant: Tenant, team: Team | None) -> None:
    if team is not None and team.tenant_id != tenant.pk:
        raise DomainError(_("Choose a team of your company."), field="team")


def _clean_roles(roles: list[str]) -> list[str]:
    valid = [r for r in Role.values if r in set(roles)]
    if len(valid) != len(set(roles)) or not valid:
        raise DomainError(_("Choose at least one valid role."), field="roles")
    return valid


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
    _check_team(tenant, team)
    email = email.strip().lower()
    roles = _clean_roles(roles)
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
                    subject=_render(
                        lazy_format(gettext_lazy("You are invited to %(company)s's CRM"), company=tenant.name),
                        user.effective_language,
                    ),
                    body=_render(
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
    _check_team(tenant, team)
    roles = _clean_roles(roles)
    with transaction.atomic():
        # Lock the tenant's admins so two admins demoting each other cannot leave the tenant with none.
        list(User.objects.for_tenant(tenant).with_role(Role.ADMIN).select_for_update().order_by("pk"))
        user.refresh_from_db()
        if Role.ADMIN in user.roles and Role.ADMIN not in roles and user.is_active:
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
        if not active and Role.ADMIN in user.roles and _active_admin_count(tenant, user) == 0:
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


# --- teams ---------------------------------------------------------------------------------------------------


def _check_manager(tenant: Tenant, manager: User | None) -> None:
    if manager is not None and (manager.tenant_id != tenant.pk or not manager.is_active):
        raise DomainError(_("Choose an active user of your company as manager."), field="manager")


def team_create(
    *, acting_user: User, tenant: Tenant, name: str, parent: Team | None = None, manager: User | None = None
) -> Team:
    require_tenant_admin(acting_user, tenant)
    _check_team(tenant, parent)
    _check_manager(tenant, manager)
    try:
        with transaction.atomic():
            team = Team.objects.create(tenant=tenant, name=name, parent=parent, manager=manager, created_by=acting_user)
            team.path = f"{parent.path if parent else '/'}{team.pk}/"
            team.save(update_fields=["path"])
            audit(
                tenant=tenant,
                actor=acting_user,
                action="team.create",
                obj=team,
                details={"parent": parent.pk if parent else None},
            )
    except IntegrityError as exc:
        raise DomainError(_("A team with this name already exists here."), field="name") from exc
    return team


def team_update(*, acting_user: User, team: Team, name: str, parent: Team | None, manager: User | None) -> Team:
    tenant = team.tenant
    require_tenant_admin(acting_user, tenant)
    _check_team(tenant, parent)
    _check_manager(tenant, manager)
    try:
        with transaction.atomic():
            team = Team.objects.select_for_update().get(pk=team.pk)
            if parent is not None and parent.path.startswith(team.path):
                raise DomainError(_("A team cannot sit under itself or one of its sub-teams."), field="parent")
            old_path = team.path
            changes = {}
            if team.name != name:
                changes["name"] = [team.name, name]
            if team.parent_id != (parent.pk if parent else None):
                changes["parent"] = [team.parent_id, parent.pk if parent else None]
            if team.manager_id != (manager.pk if manager else None):
                changes["manager"] = [team.manager_id, manager.pk if manager else None]
            team.name, team.parent, team.manager = name, parent, manager
            team.path = f"{parent.path if parent else '/'}{team.pk}/"
            team.save()
            if team.path != old_path:
                # Move the whole subtree in one statement: replace the old prefix with the new one.
                Team.objects.for_tenant(tenant).filter(path__startswith=old_path).exclude(pk=team.pk).update(
                    path=Concat(Value(team.path), Substr("path", len(old_path) + 1))
                )
            if changes:
                audit(tenant=tenant, actor=acting_user, action="team.update", obj=team, details=changes)
    except IntegrityError as exc:
        raise DomainError(_("A team with this name already exists here."), field="name") from exc
    return team


def job_run_once_today(*, tenant: Tenant, job: str, day) -> bool:
    """Claim today's run of a daily job for a tenant: True for the first caller, False for every later or
    concurrent one (the unique row decides). Call inside the job's transaction, so a crashed run is retried."""
    from .models import JobRun

    with transaction.atomic():
        _obj, created = JobRun.objects.get_or_create(tenant=tenant, job=job, day=day)
    return created
