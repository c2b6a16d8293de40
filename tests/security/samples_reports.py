"""Sample URL arguments for the reports app's patterns (see samples_crm.py for the contract): a colleague's trend
page, and an administrator's report subscription with one delivered PDF (planted once per world, marked MARKA)."""

from django.core.files.base import ContentFile

from crm.files import file_save
from reports.models import ReportDelivery, ReportFile, ReportSubscription

from .marks import named


def _subscription(world) -> ReportSubscription:
    subscription, _created = ReportSubscription.objects.get_or_create(
        tenant=world.tenant, user=world.admin, dashboard="funnel", defaults={"filters": "period=month"}
    )
    return subscription


def _delivery(world) -> dict:
    subscription = _subscription(world)
    delivery, _created = ReportDelivery.objects.get_or_create(
        tenant=world.tenant,
        subscription=subscription,
        period_key="2026-W01",
        defaults={"pdf": named(world, "%PDF-1.7 MARKA").encode(), "filename": named(world, "funnel-MARKA.pdf")},
    )
    return {"pk": delivery.pk}


def _report_file(world) -> dict:
    """An administrator's large report, built and stored."""
    report_file = ReportFile.objects.filter(tenant=world.tenant, created_by=world.admin).first()
    if report_file is None:
        report_file = ReportFile(
            tenant=world.tenant,
            created_by=world.admin,
            dashboard="team",
            format="csv",
            status=ReportFile.Status.DONE,
            progress=100,
            filename=named(world, "team-MARKA.csv"),
        )
        file_save(report_file.file, "team.csv", ContentFile(named(world, "MARKA").encode()))
        report_file.save()
    return {"pk": report_file.pk}


SAMPLES = {
    "reports:rep": lambda w: {"pk": w.rep1.pk},
    "reports:subscription_delete": lambda w: {"pk": _subscription(w).pk},
    "reports:delivery_pdf": _delivery,
    "reports:file": _report_file,
    "reports:file_status": _report_file,
    "reports:file_download": _report_file,
}

VIEWERS = {}
