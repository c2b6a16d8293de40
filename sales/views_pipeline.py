"""Pages of the opportunities — the list with totals, the kanban board per pipeline, an opportunity's page (stage
history, follow-ups, moving it) — and the admins' pipeline settings.

The board is a fixed number of queries whatever it holds: the pipelines, the stages, one aggregate for every
column's count and total, and one query for the cards (at most CARDS_PER_COLUMN per column, by a window function).
A card dragged to another column is saved at once (htmx POST); on a refusal the answer is 409 with the reason,
and the card goes back where it was (static/js/sales_board.js).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum, Window
from django.db.models.functions import Coalesce, RowNumber
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import assignable_users, require_admin
from crm.errors import DomainError
from crm.models import Role
from crm.web import CappedPaginator, admin_required, apply_domain_error, tenant_required
from customers.models import Customer

from . import pipelines as services
from . import services as sales_services
from .filters import OpportunityFilter
from .forms import FollowUpForm, OrderLineFormSet
from .forms_pipeline import NewPipelineForm, OpportunityForm, OpportunityMoveForm, PipelineForm, StageForm
from .models import FollowUp, Opportunity, OpportunityLine, Pipeline, Stage, StageChange, StageKind

PAGE_SIZE = 50
CARDS_PER_COLUMN = 50
# Won and lost columns show what closed recently; the list shows them all.
CLOSED_SHOWN_DAYS = 30


def require_sales(request: HttpRequest) -> None:
    if not request.user.has_any_role(Role.ADMIN, Role.MANAGER, Role.REP):
        raise PermissionDenied(_("Only sales reps, managers and administrators work with opportunities."))


def get_opportunity_for_user(request: HttpRequest, pk: int) -> Opportunity:
    """The opportunity if `request.user` may see it, else 404 (the same for missing, invisible, another tenant's)."""
    require_sales(request)
    return get_object_or_404(
        Opportunity.objects.visible_to(request.user).select_related(
            "customer", "contact", "pipeline", "stage", "owner", "lead", "order", "created_by"
        ),
        pk=pk,
    )


def _status(form) -> int:
    return 422 if form.errors else 200


def _weighted():
    probability = Coalesce("probability_override", "stage__probability")
    return ExpressionWrapper(
        F("amount") * probability / Decimal(100), output_field=DecimalField(max_digits=18, decimal_places=2)
    )


def _lines_from(formset) -> list[sales_services.Line]:
    return [
        sales_services.Line(
            name=f.cleaned_data["name"], quantity=f.cleaned_data["quantity"], unit_price=f.cleaned_data["unit_price"]
        )
        for f in formset.forms
        if not f.is_blank
    ]


# --- list ----------------------------------------------------------------------------------------------------


@tenant_required
@vary_on_headers("HX-Request")
def opportunity_list(request: HttpRequest) -> HttpResponse:
    """The page and one aggregate (count, total and weighted total per currency): fixed queries."""
    require_sales(request)
    base = Opportunity.objects.visible_to(request.user).select_related("customer", "owner", "stage", "pipeline")
    filterset = OpportunityFilter(request.GET, queryset=base, request=request)
    qs = filterset.qs
    page = CappedPaginator(qs, PAGE_SIZE, count_queryset=qs).get_page(request.GET.get("page"))
    totals = list(
        qs.order_by()
        .values("currency")
        .annotate(count=Count("pk"), total=Sum("amount"), weighted=Sum(_weighted()))
        .order_by("currency")
    )
    context = {"filter": filterset, "page": page, "opportunities": list(page), "totals": totals}
    template = (
        "sales/opportunities/_results.html"
        if request.htmx and not request.htmx.boosted
        else "sales/opportunities/list.html"
    )
    return render(request, template, context)


# --- board ---------------------------------------------------------------------------------------------------


def board_context(request: HttpRequest, params) -> dict:
    """The board of one pipeline for the user: columns with count and totals, and their first cards."""
    user, tenant = request.user, request.tenant
    pipelines = list(Pipeline.objects.for_tenant(tenant).filter(is_active=True).order_by("position", "pk"))
    if not pipelines and services.ensure_default_pipeline(tenant).is_active:
        pipelines = list(Pipeline.objects.for_tenant(tenant).filter(is_active=True).order_by("position", "pk"))
    chosen = str(params.get("pipeline", ""))
    pipeline = next((p for p in pipelines if str(p.pk) == chosen), pipelines[0] if pipelines else None)
    is_lead = user.has_any_role(Role.ADMIN, Role.MANAGER)
    people = list(assignable_users(user).order_by("full_name")) if is_lead else []
    owner = str(params.get("owner", "") or "")
    q = str(params.get("q", "") or "").strip()
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
    elif is_lead and owner.isdigit() and int(owner) in {p.pk for p in people}:
        base = base.filter(owner_id=int(owner))
    if q:
        base = base.filter(Q(name__icontains=q) | Q(customer__name__startswith=q))
    since = timezone.now() - timedelta(days=CLOSED_SHOWN_DAYS)
    base = base.filter(Q(status=StageKind.OPEN) | Q(closed_at__gte=since))
    sums: dict[int, dict] = defaultdict(lambda: {"count": 0, "totals": []})
    for row in (
        base.order_by()
        .values("stage_id", "currency")
        .annotate(count=Count("pk"), total=Sum("amount"))
        .order_by("currency")
    ):
        entry = sums[row["stage_id"]]
        entry["count"] += row["count"]
        entry["totals"].append({"currency": row["currency"], "total": row["total"]})
    cards: dict[int, list[Opportunity]] = defaultdict(list)
    ranked = (
        base.select_related("customer", "owner")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("stage_entered_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=CARDS_PER_COLUMN)
        .order_by("stage_id", "rank")
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
    require_sales(request)
    context = board_context(request, request.GET)
    template = (
        "sales/opportunities/_board.html"
        if request.htmx and not request.htmx.boosted
        else "sales/opportunities/board.html"
    )
    return render(request, template, context)


@tenant_required
@require_POST
@vary_on_headers("HX-Request")
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move to another stage. From the board (htmx): the refreshed board, or 409 with the reason (the card goes
    back). From the opportunity's page: back to it with a message."""
    opportunity = get_opportunity_for_user(request, pk)
    form = OpportunityMoveForm(request.POST, tenant=request.tenant)
    error = ""
    moved = None
    if form.is_valid():
        try:
            moved = services.opportunity_move(
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


# --- create / detail / edit ----------------------------------------------------------------------------------


def _initial_customer(request: HttpRequest) -> Customer | None:
    raw = request.GET.get("customer") or request.POST.get("customer") or ""
    if not str(raw).isdigit():
        return None
    return Customer.objects.editable_by(request.user).filter(pk=int(raw)).first()


@tenant_required
@require_http_methods(["GET", "POST"])
def opportunity_create(request: HttpRequest) -> HttpResponse:
    require_sales(request)
    tenant = request.tenant
    pipeline = services.ensure_default_pipeline(tenant)
    customer = _initial_customer(request)
    initial = {
        "customer": customer,
        "pipeline": pipeline if pipeline.is_active else None,
        "currency": tenant.currency,
        "owner": request.user,
        "name": customer.name if customer else "",
    }
    form = OpportunityForm(request.POST or None, user=request.user, customer=customer, initial=initial)
    lines = OrderLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            opportunity = services.opportunity_create(
                acting_user=request.user,
                customer=data["customer"],
                name=data["name"],
                pipeline=data["pipeline"],
                stage=data["stage"],
                amount=data["amount"],
                currency=data["currency"],
                expected_close_date=data["expected_close_date"],
                owner=data["owner"],
                contact=data.get("contact"),
                probability=data["probability"],
                lines=_lines_from(lines),
                notes=data["notes"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Opportunity “%(name)s” opened.") % {"name": opportunity.name})
            return redirect("sales:opportunity_detail", pk=opportunity.pk)
    has_errors = bool(form.errors) or (lines.is_bound and not lines.is_valid())
    return render(
        request,
        "sales/opportunities/form.html",
        {"form": form, "lines": lines, "creating": True},
        status=422 if has_errors else 200,
    )


def opportunity_followup_context(request: HttpRequest, opportunity: Opportunity, form=None) -> dict:
    follow_ups = list(
        FollowUp.objects.filter(tenant_id=opportunity.tenant_id, opportunity=opportunity)
        .select_related("author", "contact")
        .order_by("-happened_at", "-pk")[:50]
    )
    for follow_up in follow_ups:
        follow_up.can_edit = sales_services.followup_editable_by(request.user, follow_up)
    return {
        "customer": opportunity.customer,
        "follow_ups": follow_ups,
        "form": form or FollowUpForm(customer=opportunity.customer),
        "post_url": reverse("sales:opportunity_followup", args=[opportunity.pk]),
    }


@tenant_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request, pk)
    user = request.user
    stages = list(Stage.objects.filter(pipeline_id=opportunity.pipeline_id).ordered())
    history = list(
        StageChange.objects.filter(opportunity=opportunity)
        .select_related("from_stage", "to_stage", "by")
        .order_by("at", "pk")
    )
    previous = None
    for change in history:
        change.days_before = (change.at - previous.at).days if previous else None
        previous = change
    context = {
        "opportunity": opportunity,
        "lines": list(OpportunityLine.objects.filter(opportunity=opportunity).order_by("position", "pk")),
        "stages": [s for s in stages if s.is_active or s.pk == opportunity.stage_id],
        "history": history,
        "move_form": OpportunityMoveForm(
            tenant=request.tenant, pipeline=opportunity.pipeline, initial={"stage": opportunity.stage_id}
        ),
        "p": opportunity_followup_context(request, opportunity),
        "customer_visible": Customer.objects.visible_to(user).filter(pk=opportunity.customer_id).exists(),
        "days_in_stage": (timezone.now() - opportunity.stage_entered_at).days,
    }
    return render(request, "sales/opportunities/detail.html", context)


@tenant_required
@require_http_methods(["GET", "POST"])
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request, pk)
    current_lines = list(OpportunityLine.objects.filter(opportunity=opportunity).order_by("position", "pk"))
    initial = {
        "name": opportunity.name,
        "amount": opportunity.amount,
        "currency": opportunity.currency,
        "expected_close_date": opportunity.expected_close_date,
        "probability": opportunity.probability_override,
        "contact": opportunity.contact_id,
        "owner": opportunity.owner,
        "notes": opportunity.notes,
    }
    form = OpportunityForm(
        request.POST or None, user=request.user, customer=opportunity.customer, editing=True, initial=initial
    )
    if opportunity.owner_id:
        form.fields["owner"].queryset = form.fields["owner"].queryset | type(opportunity.owner).objects.filter(
            pk=opportunity.owner_id
        )
    lines_initial = [{"name": li.name, "quantity": li.quantity, "unit_price": li.unit_price} for li in current_lines]
    lines = OrderLineFormSet(request.POST or None, prefix="lines", initial=lines_initial)
    won = opportunity.status == StageKind.WON
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        new_lines = None if won else _lines_from(lines)
        try:
            services.opportunity_update(
                acting_user=request.user,
                opportunity=opportunity,
                name=data["name"],
                amount=opportunity.amount if won else data["amount"],
                currency=opportunity.currency if won else data["currency"],
                expected_close_date=data["expected_close_date"],
                probability=data["probability"],
                contact=data.get("contact"),
                owner=data["owner"],
                notes=data["notes"],
                lines=new_lines,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Opportunity saved."))
            return redirect("sales:opportunity_detail", pk=opportunity.pk)
    has_errors = bool(form.errors) or (lines.is_bound and not lines.is_valid())
    return render(
        request,
        "sales/opportunities/form.html",
        {"form": form, "lines": lines, "opportunity": opportunity, "won": won},
        status=422 if has_errors else 200,
    )


@tenant_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def opportunity_followup(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a follow-up on an opportunity (it counts for its customer too); htmx swaps the panel in place."""
    opportunity = get_opportunity_for_user(request, pk)
    if request.method == "GET":
        return render(
            request, "sales/partials/followup_panel.html", {"p": opportunity_followup_context(request, opportunity)}
        )
    form = FollowUpForm(request.POST, customer=opportunity.customer)
    if form.is_valid():
        data = form.cleaned_data
        next_task = None
        if data.get("create_next_task"):
            next_task = sales_services.NextTask(
                title=data["next_task_title"] or data["next_step"] or opportunity.name,
                due_at=data["next_task_due_at"],
                remind_at=data["next_task_remind_at"],
            )
        try:
            sales_services.followup_log(
                acting_user=request.user,
                opportunity=opportunity,
                kind=data["kind"],
                content=data["content"],
                outcome=data["outcome"],
                happened_at=data["happened_at"],
                contact=data.get("contact"),
                next_step=data["next_step"],
                next_task=next_task,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if not request.htmx:
                messages.success(request, _("Follow-up logged."))
                return redirect("sales:opportunity_detail", pk=opportunity.pk)
            return render(
                request,
                "sales/partials/followup_panel.html",
                {"p": opportunity_followup_context(request, opportunity), "logged": True},
            )
    if request.htmx:
        return render(
            request,
            "sales/partials/followup_panel.html",
            {"p": opportunity_followup_context(request, opportunity, form)},
            status=422,
        )
    messages.error(request, _("The follow-up was not saved; check the form."))
    return redirect("sales:opportunity_detail", pk=opportunity.pk)


def opportunities_panel_context(request: HttpRequest, customer: Customer) -> dict:
    """The customer page's opportunities panel: those the user may see (one query) and a button to open one."""
    opportunities = list(
        Opportunity.objects.visible_to(request.user)
        .filter(customer=customer)
        .select_related("stage", "owner")
        .order_by("-created_at", "-pk")[:10]
    )
    can_open = request.user.has_any_role(Role.ADMIN, Role.MANAGER, Role.REP) and (
        Customer.objects.editable_by(request.user).filter(pk=customer.pk).exists()
    )
    return {"customer": customer, "opportunities": opportunities, "can_open": can_open}


# --- settings: pipelines and stages --------------------------------------------------------------------------


def _get_pipeline(request: HttpRequest, pk: int) -> Pipeline:
    """Looked up within the tenant first: another tenant's id is 404 for everyone, then the role decides 403."""
    pipeline = get_object_or_404(Pipeline.objects.for_tenant(request.tenant), pk=pk)
    require_admin(request.user)
    return pipeline


def _get_stage(request: HttpRequest, pk: int) -> Stage:
    stage = get_object_or_404(Stage.objects.for_tenant(request.tenant).select_related("pipeline"), pk=pk)
    require_admin(request.user)
    return stage


@admin_required
@require_http_methods(["GET", "POST"])
def pipeline_settings(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    services.ensure_default_pipeline(tenant)
    form = NewPipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = services.pipeline_create(acting_user=request.user, name=form.cleaned_data["name"])
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Pipeline “%(name)s” created.") % {"name": pipeline.name})
            return redirect("sales:pipeline_edit", pk=pipeline.pk)
    pipelines = list(
        Pipeline.objects.for_tenant(tenant)
        .annotate(open_count=Count("opportunities", filter=Q(opportunities__status=StageKind.OPEN)))
        .order_by("position", "pk")
    )
    stages: dict[int, list[Stage]] = defaultdict(list)
    for stage in Stage.objects.for_tenant(tenant).ordered():
        stages[stage.pipeline_id].append(stage)
    for pipeline in pipelines:
        pipeline.stage_list = stages[pipeline.pk]
    return render(
        request, "sales/settings/pipelines.html", {"form": form, "pipelines": pipelines}, status=_status(form)
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def pipeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = _get_pipeline(request, pk)
    form = PipelineForm(
        request.POST if request.POST.get("form") == "pipeline" else None,
        initial={"name": pipeline.name, "is_active": pipeline.is_active},
    )
    stage_form = StageForm(request.POST if request.POST.get("form") == "stage" else None, initial={"probability": 50})
    if request.method == "POST":
        if form.is_bound and form.is_valid():
            try:
                services.pipeline_update(acting_user=request.user, pipeline=pipeline, **form.cleaned_data)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(request, _("Pipeline saved."))
                return redirect("sales:pipeline_edit", pk=pipeline.pk)
        elif stage_form.is_bound and stage_form.is_valid():
            try:
                services.stage_save(acting_user=request.user, pipeline=pipeline, **stage_form.cleaned_data)
            except DomainError as exc:
                apply_domain_error(stage_form, exc)
            else:
                messages.success(request, _("Stage added."))
                return redirect("sales:pipeline_edit", pk=pipeline.pk)
    stages = list(Stage.objects.filter(pipeline=pipeline).annotate(count=Count("opportunities")).ordered())
    errors = form.errors or stage_form.errors
    return render(
        request,
        "sales/settings/pipeline_edit.html",
        {"pipeline": pipeline, "form": form, "stage_form": stage_form, "stages": stages},
        status=422 if errors else 200,
    )


@tenant_required
@require_POST
def pipeline_delete(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = _get_pipeline(request, pk)
    try:
        services.pipeline_delete(acting_user=request.user, pipeline=pipeline)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("sales:pipeline_edit", pk=pipeline.pk)
    messages.success(request, _("Pipeline deleted."))
    return redirect("sales:pipeline_settings")


@tenant_required
@require_http_methods(["GET", "POST"])
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stage = _get_stage(request, pk)
    form = StageForm(
        request.POST or None, closed=stage.is_closed, initial={"name": stage.name, "probability": stage.probability}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_save(
                acting_user=request.user,
                pipeline=stage.pipeline,
                stage=stage,
                name=form.cleaned_data["name"],
                probability=form.cleaned_data.get("probability"),
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Stage saved."))
            return redirect("sales:pipeline_edit", pk=stage.pipeline_id)
    return render(request, "sales/settings/stage_form.html", {"stage": stage, "form": form}, status=_status(form))


@tenant_required
@require_POST
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    stage = _get_stage(request, pk)
    try:
        services.stage_move(acting_user=request.user, stage=stage, up=request.POST.get("direction") != "down")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("sales:pipeline_edit", pk=stage.pipeline_id)


@tenant_required
@require_POST
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    stage = _get_stage(request, pk)
    if request.POST.get("restore"):
        services.stage_restore(acting_user=request.user, stage=stage)
        messages.success(request, _("Stage “%(name)s” is in use again.") % {"name": stage.name})
        return redirect("sales:pipeline_edit", pk=stage.pipeline_id)
    try:
        outcome = services.stage_remove(acting_user=request.user, stage=stage)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if outcome == "archived":
            messages.success(
                request,
                _("Stage “%(name)s” is no longer in use; its history stays for the reports.") % {"name": stage.name},
            )
        else:
            messages.success(request, _("Stage “%(name)s” deleted.") % {"name": stage.name})
    return redirect("sales:pipeline_edit", pk=stage.pipeline_id)
