"""Opportunities: the list with totals, create, detail, edit, follow-ups."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.web import PAGE_SIZE, CappedPaginator, apply_domain_error, tenant_required
from customers.models import Customer
from sales.access import followup_editable_by, get_opportunity_for_user, require_sales
from sales.exports.opportunity import OpportunityExport
from sales.filters import OpportunityFilter
from sales.forms.fields import CustomerParamForm
from sales.forms.followup import FollowUpForm
from sales.forms.opportunity import OpportunityForm, OpportunityMoveForm
from sales.forms.order import OrderLineFormSet
from sales.models import Contract, FollowUp, Opportunity, OpportunityLine, Product, Quote, Stage, StageChange, StageKind
from sales.selectors.opportunity import opportunity_totals
from sales.services.followup import NextTask, followup_log
from sales.services.opportunity import opportunity_create, opportunity_update
from sales.services.order import Line
from sales.services.pipeline import ensure_default_pipeline


def _lines_from(formset) -> list[Line]:
    return [f.line() for f in formset.forms if not f.is_blank]


def _products(request: HttpRequest):
    return Product.objects.visible_to(request.user).active().order_by("code")


@tenant_required
@vary_on_headers("HX-Request")
def opportunity_list(request: HttpRequest) -> HttpResponse:
    """The page and its totals (count, total and weighted total per currency): fixed queries."""
    require_sales(request.user)
    base = Opportunity.objects.visible_to(request.user).select_related("customer", "owner", "stage", "pipeline")
    filterset = OpportunityFilter(request.GET, queryset=base, request=request)
    qs = filterset.qs
    page = CappedPaginator(qs, PAGE_SIZE, count_queryset=qs).get_page(request.GET.get("page"))
    totals = opportunity_totals(qs, request.tenant)
    context = {
        "filter": filterset,
        "page": page,
        "opportunities": list(page),
        "totals": totals,
        "export_url": reverse("sales:opportunity_export") if OpportunityExport.can_export(request.user) else None,
    }
    template = (
        "sales/opportunities/_results.html"
        if request.htmx and not request.htmx.boosted
        else "sales/opportunities/list.html"
    )
    return render(request, template, context)


@tenant_required
@require_http_methods(["GET", "POST"])
def opportunity_create_view(request: HttpRequest) -> HttpResponse:
    require_sales(request.user)
    tenant = request.tenant
    pipeline = ensure_default_pipeline(tenant)
    # The customer comes in the query (from its page) or, once the form was posted, with the form.
    params = request.GET if "customer" in request.GET else request.POST
    customer = CustomerParamForm(params, queryset=Customer.objects.editable_by(request.user)).value("customer")
    initial = {
        "customer": customer,
        "pipeline": pipeline if pipeline.is_active else None,
        "currency": tenant.currency,
        "owner": request.user,
        "name": customer.name if customer else "",
    }
    form = OpportunityForm(request.POST or None, user=request.user, customer=customer, initial=initial)
    lines = OrderLineFormSet(request.POST or None, prefix="lines", products=_products(request))
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            opportunity = opportunity_create(
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
                custom=form.custom_data(),
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
        follow_up.can_edit = followup_editable_by(request.user, follow_up)
    return {
        "customer": opportunity.customer,
        "follow_ups": follow_ups,
        "form": form or FollowUpForm(customer=opportunity.customer),
        "post_url": reverse("sales:opportunity_followup", args=[opportunity.pk]),
    }


@tenant_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request.user, pk)
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
        "quotes": list(Quote.objects.filter(opportunity=opportunity).order_by("-created_at", "-pk")[:20]),
        "contracts": list(Contract.objects.filter(opportunity=opportunity).order_by("-created_at", "-pk")[:10]),
    }
    return render(request, "sales/opportunities/detail.html", context)


@tenant_required
@require_http_methods(["GET", "POST"])
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request.user, pk)
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
        request.POST or None,
        user=request.user,
        customer=opportunity.customer,
        editing=True,
        initial=initial,
        custom=opportunity.custom,
    )
    if opportunity.owner_id:
        form.fields["owner"].queryset = form.fields["owner"].queryset | type(opportunity.owner).objects.filter(
            pk=opportunity.owner_id
        )
    lines_initial = [
        {"product": li.product_id, "name": li.name, "quantity": li.quantity, "unit_price": li.unit_price}
        for li in current_lines
    ]
    used = [li.product_id for li in current_lines if li.product_id]
    products = _products(request) | Product.objects.visible_to(request.user).filter(pk__in=used)
    lines = OrderLineFormSet(request.POST or None, prefix="lines", initial=lines_initial, products=products)
    won = opportunity.status == StageKind.WON
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        new_lines = None if won else _lines_from(lines)
        try:
            opportunity_update(
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
                custom=form.custom_data(),
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
    opportunity = get_opportunity_for_user(request.user, pk)
    if request.method == "GET":
        return render(
            request, "sales/partials/followup_panel.html", {"p": opportunity_followup_context(request, opportunity)}
        )
    form = FollowUpForm(request.POST, customer=opportunity.customer)
    if form.is_valid():
        data = form.cleaned_data
        next_task = None
        if data.get("create_next_task"):
            next_task = NextTask(
                title=data["next_task_title"] or data["next_step"] or opportunity.name,
                due_at=data["next_task_due_at"],
                remind_at=data["next_task_remind_at"],
            )
        try:
            followup_log(
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
