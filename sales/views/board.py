"""The kanban board of a pipeline: a card dragged to another column moves its opportunity."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import chain

from django.contrib import messages
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import assignable_users
from crm.errors import DomainError
from crm.forms import QuickSelect
from crm.models import Role
from crm.web import tenant_required
from sales.access import get_opportunity_for_user, require_sales
from sales.forms.opportunity import BoardForm, OpportunityMoveForm
from sales.models import Opportunity, Pipeline, Stage, StageKind
from sales.services.opportunity import opportunity_move
from sales.services.pipeline import ensure_default_pipeline

CARDS_PER_COLUMN = 50


# Won and lost columns show what closed recently; the list shows them all.
CLOSED_SHOWN_DAYS = 30


def column_sums(base: QuerySet[Opportunity], since: datetime) -> dict[int, dict]:
    """Each column's exact count and totals per currency: the open opportunities, and those closed since `since`.

    One query: the two halves are summed apart (UNION ALL), each a range of the totals index holding every column
    it reads (sales_opp_totals_idx: status, pipeline, closed_at, then stage, currency, amount, owner), so an admin's
    board sums its open and recently closed opportunities off the index instead of reading every row of the
    table; `COUNT(*)` keeps the primary key out of it."""

    def summed(qs: QuerySet[Opportunity]) -> QuerySet:
        return qs.order_by().values("stage_id", "currency").annotate(count=Count("*"), total=Sum("amount"))

    rows = summed(base.filter(status=StageKind.OPEN)).union(
        summed(base.filter(status__in=[StageKind.WON, StageKind.LOST], closed_at__gte=since)), all=True
    )
    sums: dict[int, dict] = defaultdict(lambda: {"count": 0, "totals": []})
    for row in sorted(rows, key=lambda row: (row["stage_id"], row["currency"])):
        entry = sums[row["stage_id"]]
        entry["count"] += row["count"]
        entry["totals"].append({"currency": row["currency"], "total": row["total"]})
    return sums


def board_context(request: HttpRequest, params) -> dict:
    """The board of one pipeline for the user: columns with count and totals, and their first cards."""
    user, tenant = request.user, request.tenant
    pipelines = list(Pipeline.objects.for_tenant(tenant).filter(is_active=True).order_by("position", "pk"))
    if not pipelines and ensure_default_pipeline(tenant).is_active:
        pipelines = list(Pipeline.objects.for_tenant(tenant).filter(is_active=True).order_by("position", "pk"))
    is_lead = user.has_any_role(Role.ADMIN, Role.MANAGER)
    people = list(assignable_users(user).order_by("full_name")) if is_lead else []
    form = BoardForm(params, pipelines=pipelines, people=people)
    chosen, owner, q = form.value("pipeline"), form.value("owner"), form.value("q")
    pipeline = next((p for p in pipelines if str(p.pk) == chosen), pipelines[0] if pipelines else None)
    context = {
        "pipelines": pipelines,
        "pipeline": pipeline,
        "people": people,
        "owner": owner,
        "q": q,
        "columns": [],
        "closed_days": CLOSED_SHOWN_DAYS,
        "cards_per_column": CARDS_PER_COLUMN,
    }
    if pipeline is None:
        return context
    stages = list(Stage.objects.filter(pipeline=pipeline, is_active=True).ordered())
    base = Opportunity.objects.visible_to(user).filter(pipeline=pipeline)
    if owner == "me":
        base = base.filter(owner=user)
    elif owner:
        base = base.filter(owner_id=int(owner))
    if q:
        base = base.filter(Q(name__icontains=q) | Q(customer__name__startswith=q))
    since = timezone.now() - timedelta(days=CLOSED_SHOWN_DAYS)
    sums = column_sums(base, since)
    base = base.filter(Q(status=StageKind.OPEN) | Q(closed_at__gte=since))
    cards: dict[int, list[Opportunity]] = defaultdict(list)
    # Each column's first cards are chosen over the opportunities alone, per stage (one UNION ALL of per-stage
    # LIMITs, each read off the stage index), then only those rows are joined to their customer and owner (a window
    # over the joined rows joined and ranked every visible opportunity of the pipeline first: 8 s for an admin).
    per_stage = [
        base.filter(stage_id=stage.pk)
        .order_by("-stage_entered_at", "-pk")
        .values_list("pk", flat=True)[:CARDS_PER_COLUMN]
        for stage in stages
    ]
    ids = list(per_stage[0].union(*per_stage[1:], all=True)) if len(per_stage) > 1 else list(chain(*per_stage))
    ranked = (
        Opportunity.objects.filter(tenant_id=tenant.pk, pk__in=ids)
        .select_related("customer", "owner")
        .order_by("stage_id", "-stage_entered_at", "-pk")
        if ids
        else []
    )
    for opportunity in ranked:
        cards[opportunity.stage_id].append(opportunity)
    for stage in stages:
        for card in cards[stage.pk]:
            card.stage = stage  # no query per card for its probability
        context["columns"].append(
            {
                "stage": stage,
                "count": sums[stage.pk]["count"],
                "totals": sums[stage.pk]["totals"],
                "cards": cards[stage.pk],
                "more": max(sums[stage.pk]["count"] - len(cards[stage.pk]), 0),
            }
        )
    return context


@tenant_required
@vary_on_headers("HX-Request")
def opportunity_board(request: HttpRequest) -> HttpResponse:
    require_sales(request.user)
    context = board_context(request, request.GET)
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/opportunities/_board.html", context)
    # The owner menu (a company's two hundred people for an admin) without a template per option.
    owners = [("", _("Everyone I see")), ("me", _("Me")), *((p.pk, p.full_name) for p in context["people"])]
    context["owner_menu"] = QuickSelect(choices=owners).render(
        "owner", context["owner"], {"class": "form-select form-select-sm", "id": "board-owner"}
    )
    return render(request, "sales/opportunities/board.html", context)


@tenant_required
@require_POST
@vary_on_headers("HX-Request")
def opportunity_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Move to another stage. From the board (htmx): the refreshed board, or 409 with the reason (the card goes
    back). From the opportunity's page: back to it with a message."""
    opportunity = get_opportunity_for_user(request.user, pk)
    form = OpportunityMoveForm(request.POST, tenant=request.tenant)
    error = ""
    moved = None
    if form.is_valid():
        try:
            moved = opportunity_move(
                acting_user=request.user,
                opportunity=opportunity,
                stage=form.cleaned_data["stage"],
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except DomainError as exc:
            error = exc.message
    else:
        error = next(iter(form.errors.get("stage", []) or form.errors.get("lost_reason", []) or [_("Choose a stage.")]))
    if moved is not None:
        if moved.status == StageKind.WON and moved.order_id:
            note = _("“%(name)s” is won; its order is recorded.") % {"name": moved.name}
            link = reverse("sales:order_detail", args=[moved.order_id])
        else:
            note = _("“%(name)s” moved to %(stage)s.") % {"name": moved.name, "stage": moved.stage.name}
            link = ""
    if request.htmx:
        if error:
            return HttpResponse(error, status=409, content_type="text/plain; charset=utf-8")
        params = request.POST.copy()
        params["pipeline"] = str(moved.pipeline_id)
        response = render(request, "sales/opportunities/_board.html", board_context(request, params))
        response["HX-Trigger"] = json.dumps({"board-saved": {"message": note, "url": link}})
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, note)
    return redirect("sales:opportunity_detail", pk=opportunity.pk)
