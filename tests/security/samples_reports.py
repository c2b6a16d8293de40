"""Sample URL arguments for the reports app's patterns (see samples_crm.py for the contract): a colleague's trend
page, and an administrator's report subscription with one delivered PDF (planted once per world, marked MARKA)."""

from reports.models import ReportDelivery, ReportSubscription

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


SAMPLES = {
    "reports:rep": lambda w: {"pk": w.rep1.pk},
    "reports:subscription_delete": lambda w: {"pk": _subscription(w).pk},
    "reports:delivery_pdf": _delivery,
}

VIEWERS = {}
