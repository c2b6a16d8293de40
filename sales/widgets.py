"""Home-page widget of the sales funnel: my best open leads and my opportunities closing soon (four queries, five for managers)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.http import HttpRequest

from crm.models import Role, local_today

from .models import Lead, Opportunity, StageKind

SOON_DAYS = 30


def my_pipeline(request: HttpRequest) -> dict:
    user, tenant = request.user, request.tenant
    mine = Lead.objects.visible_to(user).filter(owner=user).open()
    counts = mine.aggregate(total=Count("pk"), new=Count("pk", filter=Q(status="new")))
    leads = list(mine.order_by("-score", "-created_at", "-pk")[:5])
    today = local_today(tenant)
    closing = (
        Opportunity.objects.visible_to(user)
        .filter(owner=user, status=StageKind.OPEN, expected_close_date__lte=today + timedelta(days=SOON_DAYS))
        .select_related("customer", "stage")
        .order_by("expected_close_date", "pk")
    )
    opportunities = list(closing[:5])
    totals = list(closing.order_by().values("currency").annotate(total=Sum("amount")).order_by("currency"))
    # Managers and admins hand out the leads nobody holds yet.
    unassigned = None
    if user.has_any_role(Role.ADMIN, Role.MANAGER):
        unassigned = Lead.objects.visible_to(user).unassigned().open().count()
    return {
        "unassigned": unassigned,
        "lead_counts": counts,
        "leads": leads,
        "opportunities": opportunities,
        "totals": totals,
        "today": today,
        "soon_days": SOON_DAYS,
    }
