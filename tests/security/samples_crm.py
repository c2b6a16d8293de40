"""Sample URL arguments for the crm app's patterns, for the cross-tenant sweep (test_url_sweep.py).

Every module tests/security/samples_<app>.py defines:
- SAMPLES: url name → function(world_a) returning the URL kwargs for a real object of tenant A;
- VIEWERS: url name → the attribute of World whose user may see that object (default "admin");
- PUBLIC: url name → why anonymous visitors may open it (sign-up, password reset, public forms…).
A URL pattern with arguments and no sample fails the sweep, so no new page escapes it.
"""

import datetime as dt

from django.test import override_settings

from crm.models import AuditEvent, ExchangeRate, Notification, RobotChannel
from crm.services.notification import robot_channel_save


def _notification(world):
    return {"pk": Notification.objects.filter(recipient=world.rep1).values_list("pk", flat=True).first()}


SAMPLES = {
    "settings:user_edit": lambda w: {"pk": w.rep1.pk},
    "settings:user_set_active": lambda w: {"pk": w.rep1.pk},
    "settings:team_edit": lambda w: {"pk": w.team1.pk},
    "notification_read": _notification,
    "settings:audit_items": lambda w: {
        "pk": AuditEvent.objects.filter(tenant=w.tenant).values_list("pk", flat=True).first()
    },
    "password_reset_confirm": lambda w: {"uidb64": "MQ", "token": "set-password"},
    "signup_verify": lambda w: {"token": "not-a-signed-token"},
}

VIEWERS = {
    "notification_read": "rep1",
}

PUBLIC = {
    "login": "the login page itself",
    "signup": "public company sign-up (SIGNUP_ENABLED)",
    "signup_verify": "reached from the emailed link; the signed token is the credential",
    "password_reset": "asking for a reset link needs no login",
    "password_reset_done": "static confirmation page",
    "password_reset_confirm": "reached from the emailed link; the token is the credential",
    "password_reset_complete": "static confirmation page",
    "set_language": "anonymous visitors switch language on the login page (cookie only)",
    "healthz": "monitors' health check: the state of the database, Redis, worker and beat, no tenant data",
    "healthz_ready": "load balancers' readiness check: whether the database answers, no tenant data",
    "healthz_live": "liveness probe: answers without touching anything",
    "logout": "logging out needs no tenant check",
    "login_verify": "the code step of a login: it serves only the login this session began with its password",
}


def _robot(world):
    robot = RobotChannel.objects.filter(tenant=world.tenant).first()
    if robot is None:
        with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True):
            robot = robot_channel_save(
                acting_user=world.admin,
                kind="wecom",
                name="robot",
                url="http://127.0.0.1:9/r",
                events=["lead_assigned"],
            )
    return {"pk": robot.pk}


SAMPLES["settings:robot_set_active"] = _robot
SAMPLES["settings:robot_edit"] = _robot
SAMPLES["settings:robot_test"] = _robot


def _exchange_rate(world):
    rate = ExchangeRate.objects.filter(tenant=world.tenant).first()
    if rate is None:
        rate = ExchangeRate.objects.create(tenant=world.tenant, currency="USD", month=dt.date(2026, 1, 1), rate=7)
    return {"pk": rate.pk}


SAMPLES["settings:exchange_rate_delete"] = _exchange_rate
