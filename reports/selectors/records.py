"""The records behind a figure of a dashboard, counted by the same scope as the figure: a drill-down link carries
the dashboard's filters plus the figure (and its stage, month or lost reason), and whoever opens it sees only the
rows the figure counted for them — altering the filters can narrow the list, never widen it past what they see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.workcalendar.selectors import local_midnight
from reports.selectors import activity, funnel, performance
from reports.selectors.forecast import COMMIT_PROBABILITY
from reports.selectors.scope import ReportScope, add_months
from sales.models import Stage, StageChange, StageKind

# metric → (label, kind of record)
METRICS = {
    "cohort": (_("Opportunities created in the period"), "opportunity"),
    "stage": (_("Opportunities that reached the stage"), "opportunity"),
    "won_cohort": (_("Won, of those created in the period"), "opportunity"),
    "lost_cohort": (_("Lost, of those created in the period"), "opportunity"),
    "open_cohort": (_("Still open, of those created in the period"), "opportunity"),
    "lost_reason": (_("Lost for this reason"), "opportunity"),
    "forecast_open": (_("Open, expected to close in the month"), "opportunity"),
    "forecast_commit": (_("Commit: open at high probability, closing in the month"), "opportunity"),
    "forecast_won": (_("Won in the month"), "opportunity"),
    "forecast_overdue": (_("Open, expected close date passed"), "opportunity"),
    "won": (_("Deals won"), "opportunity"),
    "won_amount": (_("Deals won"), "opportunity"),
    "new_customers": (_("New customers"), "ownership"),
    "followups": (_("Follow-ups logged"), "followup"),
    "tasks_on_time": (_("Tasks done on time"), "task"),
    "tasks_late": (_("Tasks done late"), "task"),
    "claims": (_("Claimed from the pool"), "ownership"),
    "fallbacks": (_("Fell back to the pool"), "ownership"),
    "overdue_tasks": (_("Open tasks past their due time"), "task"),
    "stale_customers": (_("Customers not followed up recently"), "customer"),
}


def _stage_reached(qs: QuerySet, stage: Stage) -> QuerySet:
    if stage.kind == StageKind.WON:
        return qs.filter(status=StageKind.WON)
    stages = list(Stage.objects.filter(pipeline_id=stage.pipeline_id).ordered())
    open_ids = [s.pk for s in stages if s.kind == StageKind.OPEN]
    later = open_ids[open_ids.index(stage.pk) :] if stage.pk in open_ids else [stage.pk]
    entered = StageChange.objects.filter(
        tenant_id=OuterRef("tenant_id"), opportunity_id=OuterRef("pk"), to_stage_id__in=later
    )
    return qs.filter(Exists(entered) | Q(status=StageKind.WON))


def month_bounds(scope: ReportScope, month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return local_midnight(scope.tenant, month), local_midnight(scope.tenant, add_months(month, 1))


def records(
    scope: ReportScope,
    metric: str,
    *,
    stage: Stage | None = None,
    month: dt.date | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> QuerySet:
    start_at, end_at = scope.period.start_at, scope.period.end_at
    if metric in ("cohort", "stage", "won_cohort", "lost_cohort", "open_cohort", "lost_reason"):
        pipeline = funnel.funnel_pipeline(scope)
        if pipeline is None:
            return scope.opportunities().none()
        qs = funnel.cohort(scope, pipeline)
        if metric == "stage":
            qs = _stage_reached(qs, stage) if stage is not None and stage.pipeline_id == pipeline.pk else qs.none()
        elif metric == "won_cohort":
            qs = qs.filter(status=StageKind.WON)
        elif metric == "lost_cohort":
            qs = qs.filter(status=StageKind.LOST)
        elif metric == "open_cohort":
            qs = qs.filter(status=StageKind.OPEN)
        elif metric == "lost_reason":
            qs = qs.filter(status=StageKind.LOST, lost_reason=reason)
        return qs.select_related("customer", "owner", "stage").order_by("-created_at", "-pk")
    if metric.startswith("forecast_"):
        qs = scope.opportunities()
        if metric == "forecast_overdue":
            qs = qs.filter(status=StageKind.OPEN, expected_close_date__lt=scope.period.start.replace(day=1))
        elif month is None:
            qs = qs.none()
        elif metric == "forecast_won":
            month_start_at, month_end_at = month_bounds(scope, month)
            qs = qs.filter(status=StageKind.WON, closed_at__gte=month_start_at, closed_at__lt=month_end_at)
        else:
            qs = qs.filter(
                status=StageKind.OPEN, expected_close_date__gte=month, expected_close_date__lt=add_months(month, 1)
            )
            if metric == "forecast_commit":
                qs = qs.filter(
                    Q(probability_override__gte=COMMIT_PROBABILITY)
                    | Q(probability_override__isnull=True, stage__probability__gte=COMMIT_PROBABILITY)
                )
        return qs.select_related("customer", "owner", "stage").order_by("expected_close_date", "-amount", "pk")
    if metric in ("overdue_tasks",):
        return activity.overdue_tasks(scope, now).select_related("assignee", "customer").order_by("due_at", "pk")
    if metric == "stale_customers":
        return activity.stale_customers(scope, now).select_related("owner").order_by("last_followed_up_at", "pk")
    qs = performance.metric_rows(scope, metric, start_at, end_at)
    kind = METRICS[metric][1]
    if kind == "opportunity":
        return qs.select_related("customer", "owner", "stage").order_by("-closed_at", "-pk")
    if kind == "followup":
        return qs.select_related("author", "customer").order_by("-happened_at", "-pk")
    if kind == "task":
        return qs.select_related("assignee", "customer").order_by("-done_at", "-pk")
    return qs.select_related("customer", "to_owner", "from_owner").order_by("-at", "-pk")
