import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun

from crm import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The schedule lives in code; each app's periodic jobs are listed here so beat has one place to read.
app.conf.beat_schedule = {
    # Task calls queued while Redis was down (crm.services.outbox) are sent once it answers again.
    "crm-relay-outbox": {
        "task": "crm.tasks.relay_outbox",
        "schedule": crontab(),
    },
    # The health check's proof that beat and a worker run (/healthz reads the time it was last run).
    "crm-heartbeat": {
        "task": "crm.tasks.heartbeat",
        "schedule": crontab(),
        "args": ("beat",),
    },
    # Webhook deliveries whose backoff has passed are tried again (one task per tenant).
    "api-redeliver-due-webhooks": {
        "task": "crm.api.tasks.redeliver_due_webhooks",
        "schedule": crontab(),
    },
    # The kept answers of API requests with an Idempotency-Key, after their keeping time (one task per tenant).
    "api-purge-idempotency-keys": {
        "task": "crm.api.tasks.purge_idempotency_keys",
        "schedule": crontab(hour=4, minute=25),
    },
    "crm-redeliver-queued-messages": {
        "task": "crm.tasks.redeliver_queued_messages",
        "schedule": crontab(minute="*/5"),
    },
    # Sales: due task reminders → one in-app notification and one email each (a dispatcher fans out per tenant).
    "sales-send-due-reminders": {
        "task": "sales.tasks.send_due_reminders",
        "schedule": crontab(),
    },
    # Public pool: customers nobody follows up fall back hourly; the warning ladder is checked hourly and acts once a
    # day per tenant, after 09:00 tenant-local time.
    "customers-fallback-to-pool": {
        "task": "customers.tasks.fallback_to_pool",
        "schedule": crontab(minute=7),
    },
    # Lead pools: leads nobody follows up or converts fall back hourly, then the warning ladder (acts once a day per
    # tenant, after 09:00 tenant-local time); one task per tenant does both.
    "sales-lead-fallback-to-pool": {
        "task": "sales.tasks.lead_fallback_to_pool",
        "schedule": crontab(minute=13),
    },
    # Imports whose process died or whose task was lost are started again (nothing of the lost run was saved).
    "imports-recover": {
        "task": "crm.imports.tasks.recover_imports",
        "schedule": crontab(minute="*/5"),
    },
    "customers-purge-trash-nightly": {
        "task": "customers.tasks.purge_trash_dispatch",
        "schedule": crontab(hour=3, minute=30),
    },
    # The stored fall-back dates checked against the rules, and repaired where they differ.
    "customers-fallback-dates-nightly": {
        "task": "customers.tasks.fallback_dates_dispatch",
        "schedule": crontab(hour=2, minute=40),
    },
    # Sign-ups never verified within SIGNUP_VERIFY_DAYS are removed (one task per tenant).
    "crm-purge-unverified-signups": {
        "task": "crm.tasks.purge_unverified_signups",
        "schedule": crontab(hour=4, minute=10),
    },
    # Reports: subscribed dashboards as PDFs, weekly or monthly at each subscriber's local hour (once per period).
    "reports-send-scheduled": {
        "task": "reports.tasks.send_scheduled_reports",
        "schedule": crontab(minute=5),
    },
    # Reports: prepared report files are deleted REPORT_FILE_RETENTION_DAYS after they were finished.
    "reports-expire-files": {
        "task": "reports.tasks.expire_report_files",
        "schedule": crontab(hour=3, minute=50),
    },
    # Sales: overdue instalments (the owner, then the manager past N days) and contract renewals, once each, on
    # each tenant's local date.
    "sales-contract-reminders": {
        "task": "sales.tasks.send_contract_reminders",
        "schedule": crontab(minute=23),
    },
    "customers-warn-before-fallback": {
        "task": "customers.tasks.warn_before_fallback",
        "schedule": crontab(minute=17),
    },
    # Service desk: SLA escalation (at risk → the assignee; breached → the team manager, priority one step up).
    "service-escalate-tickets": {
        "task": "service.tasks.escalate_tickets",
        "schedule": crontab(minute="*/5"),
    },
    # Service desk: NPS survey invitations, at most NPS_SEND_PER_RUN per tenant a minute.
    "service-send-nps-invitations": {
        "task": "service.tasks.send_nps_invitations",
        "schedule": crontab(minute="*"),
    },
    # Customer care: birthday, holiday and one-off greetings, hourly; each tenant's campaigns go out at their send
    # hour in the tenant's local time (a greeting is unique per campaign, contact and year).
    "marketing-send-care-greetings": {
        "task": "marketing.tasks.send_care_greetings",
        "schedule": crontab(minute=3),
    },
    # One-off care campaigns at their HH:MM: a cheap check every minute (one indexed query per tenant).
    "marketing-send-one-off-greetings": {
        "task": "marketing.tasks.send_one_off_greetings",
        "schedule": crontab(minute="*"),
    },
    # Marketing: every customer's RFM scores, nightly (one SQL statement per tenant with orders).
    "marketing-compute-rfm": {
        "task": "marketing.tasks.compute_rfm",
        "schedule": crontab(hour=2, minute=40),
    },
    # Marketing blasts: every minute, each tenant's due blasts start and at most its rate of messages is queued.
    "marketing-send-blasts": {
        "task": "marketing.tasks.send_blasts",
        "schedule": crontab(),
    },
}


@task_prerun.connect
def _log_task_started(task_id=None, **kwargs):
    logs.task_started(task_id)


@task_postrun.connect
def _log_task_finished(**kwargs):
    logs.task_finished()
