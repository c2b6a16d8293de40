"""Thin Celery tasks of the reports app: the scheduled reports, one task per tenant."""

from celery import shared_task
from django.utils.translation import gettext_lazy as _

from crm.services import outbox
from crm.tenancy import TenantTask, tenants_having
from reports.models import ReportFile, ReportSubscription
from reports.services import delivery, funnel_facts, report_file


def _active_subscriptions():
    return ReportSubscription.objects.filter(is_active=True)


@shared_task
def send_scheduled_reports() -> int:
    """Hourly (beat): one run per tenant that has active report subscriptions."""
    tenant_ids = tenants_having(_active_subscriptions)
    for tenant_id in tenant_ids:
        outbox.enqueue(send_tenant_reports, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Sending scheduled reports"))
def send_tenant_reports(tenant_id: int) -> int:
    return delivery.deliveries_send_due(tenant_id=tenant_id)


@shared_task(base=TenantTask, acks_late=True, label=_("Rebuilding the funnel facts"))
def rebuild_tenant_funnel_facts(tenant_id: int) -> int:
    return funnel_facts.funnel_facts_rebuild(tenant_id=tenant_id)


@shared_task(base=TenantTask, acks_late=True, label=_("Preparing a report file"))
def build_report_file(tenant_id: int, file_id: int) -> bool:
    return report_file.report_file_build(file_id=file_id) is not None


def _old_report_files():
    return ReportFile.objects.filter(
        status__in=[ReportFile.Status.DONE, ReportFile.Status.FAILED, ReportFile.Status.EXPIRED]
    )


@shared_task
def expire_report_files() -> int:
    """Daily (beat): one run per tenant that has finished report files."""
    tenant_ids = tenants_having(_old_report_files)
    for tenant_id in tenant_ids:
        outbox.enqueue(expire_tenant_report_files, tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, acks_late=True, label=_("Deleting expired report files"))
def expire_tenant_report_files(tenant_id: int) -> int:
    return report_file.report_files_expire(tenant_id=tenant_id)
