"""Thin Celery tasks of the marketing app: they take ids and call services."""

import datetime as dt

from celery import shared_task
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Tenant
from crm.services import outbox
from crm.tenancy import TenantTask, tenant_context, tenants_having
from marketing.models import Blast, CareCampaign
from marketing.selectors.care import one_off_due
from marketing.services import rfm
from marketing.services.blast import blasts_run
from marketing.services.greeting import greetings_run, one_off_greetings_run
from sales.models import Order


@shared_task
def send_care_greetings() -> int:
    """Hourly (beat): one greeting run per tenant with an active care campaign, so tenants run in parallel on many
    workers and one tenant's failure does not hold up the others."""
    tenant_ids = tenants_having(lambda: CareCampaign.objects.filter(is_active=True))
    for tenant_id in tenant_ids:
        outbox.enqueue(send_tenant_care_greetings, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Care greetings"))
def send_tenant_care_greetings(tenant_id: int) -> dict[str, int]:
    """One tenant's greetings due today (its local day). Idempotent: a rerun, or two copies at once, greets each
    contact once per occasion and issues one coupon."""
    return greetings_run(tenant_id=tenant_id)


@shared_task
def send_one_off_greetings(now: str | None = None) -> int:
    """Every minute (beat): one run per tenant that has a one-off campaign due this minute (its local day and
    HH:MM come, not sent yet). One indexed query per tenant, in its own context; nothing is queued when nothing is
    due."""
    moment = timezone.now() if now is None else dt.datetime.fromisoformat(now)
    due = []
    for tenant in Tenant.objects.filter(is_active=True).order_by("pk"):
        with tenant_context(tenant.pk):
            if one_off_due(tenant, moment):
                due.append(tenant.pk)
    for tenant_id in due:
        outbox.enqueue(send_tenant_one_off_greetings, tenant_id)
    return len(due)


@shared_task(base=TenantTask, acks_late=True, label=_("One-off care greetings"))
def send_tenant_one_off_greetings(tenant_id: int) -> dict[str, int]:
    """One tenant's one-off campaigns due now. Idempotent: each contact is greeted once."""
    return one_off_greetings_run(tenant_id=tenant_id)


@shared_task
def compute_rfm() -> int:
    """Nightly (beat): one RFM run per tenant with orders, each on its own worker task."""
    tenant_ids = tenants_having(lambda: Order.objects.all())
    for tenant_id in tenant_ids:
        outbox.enqueue(compute_tenant_rfm, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True, label=_("RFM scores"))
def compute_tenant_rfm(tenant_id: int) -> dict[str, int]:
    """One tenant's RFM scores, one SQL statement. Idempotent: a rerun over the same orders changes nothing."""
    return rfm.rfm_compute(tenant_id=tenant_id)


def _blasts_with_work():
    return Blast.objects.filter(
        Q(status=Blast.Status.SCHEDULED, send_at__lte=timezone.now()) | Q(status=Blast.Status.SENDING)
    )


@shared_task
def send_blasts() -> int:
    """Every minute (beat): one blast run per tenant with a blast due or sending."""
    tenant_ids = tenants_having(_blasts_with_work)
    for tenant_id in tenant_ids:
        outbox.enqueue(send_tenant_blasts, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Campaign blasts"))
def send_tenant_blasts(tenant_id: int) -> dict[str, int]:
    """One tenant's blasts: start those due, queue at most the tenant's rate of messages, close those finished.
    Idempotent: a rerun, or two copies at once, messages each recipient once."""
    return blasts_run(tenant_id=tenant_id)
