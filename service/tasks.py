"""Thin Celery tasks of the service desk: they take ids and call services."""

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from crm.services import outbox
from crm.tenancy import TenantTask
from service.services import escalation, nps


@shared_task
def escalate_tickets() -> int:
    """Every few minutes (beat): one escalation run per tenant with due steps."""
    tenant_ids = escalation.tenants_with_due_escalations()
    for tenant_id in tenant_ids:
        outbox.enqueue(escalate_tenant_tickets, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Ticket escalation"))
def escalate_tenant_tickets(tenant_id: int) -> int:
    """One tenant's due escalations. Idempotent: each step once per ticket and target, whoever runs it."""
    return escalation.escalations_run(tenant_id=tenant_id)


@shared_task(base=TenantTask, acks_late=True, label=_("Ticket deadlines after a calendar or SLA policy change"))
def recompute_deadlines(tenant_id: int, priority: str = "") -> int:
    """After the tenant's working calendar changed: the running clocks' deadlines on the new calendar; after the SLA
    policies of `priority` changed (and the admin chose to apply them to open tickets): those tickets' targets."""
    return escalation.deadlines_recompute(tenant_id=tenant_id, priority=priority)


@shared_task
def send_nps_invitations() -> int:
    """Every minute (beat): one throttled NPS sending run per tenant with invitations waiting."""
    tenant_ids = nps.tenants_with_pending_invitations()
    for tenant_id in tenant_ids:
        outbox.enqueue(send_tenant_nps, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True, label=_("NPS survey invitations"))
def send_tenant_nps(tenant_id: int) -> int:
    """Up to NPS_SEND_PER_RUN of one tenant's waiting NPS invitations. Idempotent: each invitation is claimed once."""
    return nps.nps_send_pending(tenant_id=tenant_id)["sent"]
