"""Pages of the leads: the list (search, filters, sort, bulk assignment), entering and editing a lead, its page
(score breakdown, duplicate banner, follow-ups, status, assignment), the conversion; and the admins' settings for
the scoring rules and the public web form.

Thin views: parse, call sales.leads, render. Every lead is reached through `get_lead_for_user`, built on
`Lead.objects.visible_to(user)`: another tenant's id, a missing one and an invisible one all answer 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import safe_redirect_url
from crm.errors import DomainError
from crm.models import Role
from crm.web import CappedPaginator, admin_required, apply_domain_error, tenant_required
from customers.models import Customer
from customers.normalize import format_phone

from . import leads as services
from . import services as sales_services
from .filters import LeadFilter
from .forms import FollowUpForm
from .forms_leads import (
    LeadAssignForm,
    LeadBulkAssignForm,
    LeadConvertForm,
    LeadForm,
    LeadStatusForm,
    ScoringRuleForm,
    WebFormSettingsForm,
)
from .models import FollowUp, Lead, LeadScoringRule, LeadStatus, Opportunity, Pipeline
from .pipelines import ensure_default_pipeline

PAGE_SIZE = 50


def require_leads(request: HttpRequest) -> None:
    if not services.can_work_leads(request.user):
        raise PermissionDenied(_("Only sales reps, managers and administrators work with leads."))


def get_lead_for_user(request: HttpRequest, pk: int) -> Lead:
    """The lead if `request.user` may see it, else 404 (the same for missing, invisible and another tenant's)."""
    require_leads(request)
    return get_object_or_404(
        Lead.objects.visible_to(request.user).select_related(
            "owner", "customer", "contact", "opportunity", "web_form", "converted_by", "created_by"
        ),
        pk=pk,
    )


def _status(form) -> int:
    return 422 if form.errors else 200


# --- list ----------------------------------------------------------------------------------------------------


@tenant_required
@vary_on_headers("HX-Request")
def lead_list(request: HttpRequest) -> HttpResponse:
    """Fixed queries whatever the page size: the count (capped) and the page with its owners."""
    require_leads(request)
    base = Lead.objects.visible_to(request.user).select_related("owner")
    filterset = LeadFilter(request.GET, queryset=base, request=request)
    qs = filterset.qs
    page = CappedPaginator(qs, PAGE_SIZE, count_queryset=qs).get_page(request.GET.get("page"))
    leads = list(page)
    for lead in leads:
        lead.phone_display = format_phone(lead.phone)
    is_manager = services.is_lead_manager(request.user)
    context = {
        "filter": filterset,
        "page": page,
        "leads": leads,
        "can_assign": is_manager,
        "assign_form": LeadAssignForm(user=request.user) if is_manager else None,
    }
    template = "sales/leads/_results.html" if request.htmx and not request.htmx.boosted else "sales/leads/list.html"
    return render(request, template, context)


@tenant_required
@require_POST
def lead_bulk_assign(request: HttpRequest) -> HttpResponse:
    require_leads(request)
    if not services.is_lead_manager(request.user):
        raise PermissionDenied(_("Only managers and administrators assign leads."))
    form = LeadBulkAssignForm(request.POST, user=request.user)
    back = safe_redirect_url(request, request.POST.get("back"), reverse("sales:lead_list"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    try:
        moved = services.lead_assign(
            acting_user=request.user, leads=form.cleaned_data["leads"], owner=form.cleaned_data["owner"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(count)d leads given to %(name)s.") % {"count": moved, "name": form.cleaned_data["owner"].full_name},
        )
    return redirect(back)


# --- create / edit -------------------------------------------------------------------------------------------


@tenant_required
@require_http_methods(["GET", "POST"])
def lead_create(request: HttpRequest) -> HttpResponse:
    require_leads(request)
    form = LeadForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(acting_user=request.user, data=form.lead_data(), owner=form.chosen_owner())
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if lead.is_duplicate:
                messages.warning(request, _("Lead saved. It matches an existing record: see below."))
            else:
                messages.success(request, _("Lead saved."))
            return redirect("sales:lead_detail", pk=lead.pk)
    return render(request, "sales/leads/form.html", {"form": form, "creating": True}, status=_status(form))


@tenant_required
@require_http_methods(["GET", "POST"])
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_lead_for_user(request, pk)
    if lead.is_converted:
        messages.info(request, _("A converted lead stays as it was; change its customer instead."))
        return redirect("sales:lead_detail", pk=lead.pk)
    initial = {f: getattr(lead, f) for f in services.LEAD_FIELDS}
    initial["phone"] = format_phone(lead.phone)
    form = LeadForm(request.POST or None, user=request.user, creating=False, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_update(acting_user=request.user, lead=lead, data=form.lead_data())
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Lead saved."))
            return redirect("sales:lead_detail", pk=lead.pk)
    return render(request, "sales/leads/form.html", {"form": form, "lead": lead}, status=_status(form))


# --- detail and its actions ----------------------------------------------------------------------------------


def lead_followup_context(request: HttpRequest, lead: Lead, form: FollowUpForm | None = None) -> dict:
    follow_ups = list(
        FollowUp.objects.filter(tenant_id=lead.tenant_id, lead=lead)
        .select_related("author")
        .order_by("-happened_at", "-pk")[:50]
    )
    for follow_up in follow_ups:
        follow_up.can_edit = sales_services.followup_editable_by(request.user, follow_up)
    if form is None and not lead.is_converted:
        form = FollowUpForm(customer=None)
    return {
        "customer": None,
        "follow_ups": follow_ups,
        "form": None if lead.is_converted else form,
        "post_url": reverse("sales:lead_followup", args=[lead.pk]),
    }


@tenant_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_lead_for_user(request, pk)
    user = request.user
    duplicates = list(
        Lead.objects.visible_to(user)
        .filter(duplicate_of_lead=lead)
        .select_related("owner")
        .order_by("-created_at")[:20]
    )
    context = {
        "lead": lead,
        "phone_display": format_phone(lead.phone),
        "duplicate_notes": services.duplicate_notes(lead, user),
        "breakdown": services.score_breakdown(lead),
        "duplicates": duplicates,
        "p": lead_followup_context(request, lead),
        "status_form": LeadStatusForm(initial={"status": lead.status}),
        "assign_form": LeadAssignForm(user=user, initial={"owner": lead.owner})
        if services.is_lead_manager(user) and not lead.is_converted
        else None,
        "can_convert": lead.status == LeadStatus.QUALIFIED,
        "customer_visible": bool(
            lead.customer_id and Customer.objects.visible_to(user).filter(pk=lead.customer_id).exists()
        ),
        "opportunity_visible": bool(
            lead.opportunity_id and Opportunity.objects.visible_to(user).filter(pk=lead.opportunity_id).exists()
        ),
    }
    return render(request, "sales/leads/detail.html", context)


@tenant_required
@require_POST
def lead_status(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_lead_for_user(request, pk)
    form = LeadStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
        return redirect("sales:lead_detail", pk=lead.pk)
    try:
        lead = services.lead_set_status(
            acting_user=request.user, lead=lead, status=form.cleaned_data["status"], reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The lead is now “%(status)s”.") % {"status": lead.get_status_display()})
    return redirect("sales:lead_detail", pk=lead.pk)


@tenant_required
@require_POST
def lead_assign(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_lead_for_user(request, pk)
    if not services.is_lead_manager(request.user):
        raise PermissionDenied(_("Only managers and administrators assign leads."))
    form = LeadAssignForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, _("Choose yourself or an active member of a team you manage."))
        return redirect("sales:lead_detail", pk=lead.pk)
    try:
        services.lead_assign(acting_user=request.user, leads=[lead], owner=form.cleaned_data["owner"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Lead given to %(name)s.") % {"name": form.cleaned_data["owner"].full_name})
    # The new owner may be outside what the manager sees no more: the list is the safe way back.
    if not Lead.objects.visible_to(request.user).filter(pk=lead.pk).exists():
        return redirect("sales:lead_list")
    return redirect("sales:lead_detail", pk=lead.pk)


@tenant_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def lead_followup(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a follow-up on a lead (htmx: the panel is swapped in place)."""
    lead = get_lead_for_user(request, pk)
    if request.method == "GET":
        return render(request, "sales/partials/followup_panel.html", {"p": lead_followup_context(request, lead)})
    form = FollowUpForm(request.POST, customer=None)
    if form.is_valid():
        data = form.cleaned_data
        next_task = None
        if data.get("create_next_task"):
            next_task = sales_services.NextTask(
                title=data["next_task_title"] or data["next_step"] or str(lead),
                due_at=data["next_task_due_at"],
                remind_at=data["next_task_remind_at"],
            )
        try:
            sales_services.followup_log(
                acting_user=request.user,
                lead=lead,
                kind=data["kind"],
                content=data["content"],
                outcome=data["outcome"],
                happened_at=data["happened_at"],
                next_step=data["next_step"],
                next_task=next_task,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if not request.htmx:
                messages.success(request, _("Follow-up logged."))
                return redirect("sales:lead_detail", pk=lead.pk)
            lead = get_lead_for_user(request, pk)
            return render(
                request,
                "sales/partials/followup_panel.html",
                {"p": lead_followup_context(request, lead), "logged": True},
            )
    if request.htmx:
        return render(
            request,
            "sales/partials/followup_panel.html",
            {"p": lead_followup_context(request, lead, form)},
            status=422,
        )
    messages.error(request, _("The follow-up was not saved; check the form."))
    return redirect("sales:lead_detail", pk=lead.pk)


# --- conversion ----------------------------------------------------------------------------------------------

CONVERT_FIELDS = {
    "customer": "customer",
    "customer_name": "customer_name",
    "name": "customer_name",
    "customer_kind": "customer_kind",
    "mobile": None,
    "phone": None,
    "email": None,
    "credit_code": None,
    "status": None,
}


@tenant_required
@require_http_methods(["GET", "POST"])
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_lead_for_user(request, pk)
    if lead.is_converted:
        messages.info(request, _("This lead is already converted."))
        return redirect("sales:lead_detail", pk=lead.pk)
    pipeline = ensure_default_pipeline(request.tenant)
    if not pipeline.is_active:
        pipeline = Pipeline.objects.filter(tenant=request.tenant, is_active=True).order_by("position", "pk").first()
    initial = {
        "mode": LeadConvertForm.NEW,
        "customer_name": lead.company or lead.name,
        "customer_kind": "company" if lead.company else "person",
        "create_opportunity": True,
        "opportunity_name": lead.company or lead.name,
        "opportunity_pipeline": pipeline,
        "opportunity_currency": request.tenant.currency,
    }
    matched = lead.duplicate_of_customer_id
    if matched and Customer.objects.editable_by(request.user).filter(pk=matched).exists():
        # The lead matches a customer the user may change: attaching it is the likely intent.
        initial.update(mode=LeadConvertForm.EXISTING, customer=matched)
    form = LeadConvertForm(request.POST or None, user=request.user, lead=lead, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        draft = None
        if data.get("create_opportunity"):
            draft = services.OpportunityDraft(
                name=data["opportunity_name"],
                pipeline=data["opportunity_pipeline"],
                stage=data["opportunity_stage"],
                amount=data["opportunity_amount"],
                currency=data["opportunity_currency"] or request.tenant.currency,
                expected_close_date=data["opportunity_expected_close_date"],
            )
        try:
            lead = services.lead_convert(
                acting_user=request.user,
                lead=lead,
                customer=data["customer"] if data["mode"] == LeadConvertForm.EXISTING else None,
                customer_name=data["customer_name"],
                customer_kind=data["customer_kind"] or "company",
                opportunity=draft,
            )
        except DomainError as exc:
            field = exc.field
            if field in CONVERT_FIELDS:
                field = CONVERT_FIELDS[field]
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Lead converted into the customer %(name)s.") % {"name": lead.customer.name})
            if lead.opportunity_id:
                return redirect("sales:opportunity_detail", pk=lead.opportunity_id)
            return redirect("customers:detail", pk=lead.customer_id)
    return render(request, "sales/leads/convert.html", {"lead": lead, "form": form}, status=_status(form))


# --- settings: scoring rules ---------------------------------------------------------------------------------


def _recompute_message(request: HttpRequest, outcome: str) -> None:
    if outcome == "queued":
        messages.info(request, _("The leads are being rescored in the background."))
    else:
        messages.success(request, _("Every lead was rescored."))


@admin_required
@require_http_methods(["GET", "POST"])
def scoring_rules(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    form = ScoringRuleForm(request.POST or None, initial={"is_active": True, "points": 10})
    if request.method == "POST" and form.is_valid():
        try:
            _rule, outcome = services.scoring_rule_save(acting_user=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Rule added."))
            _recompute_message(request, outcome)
            return redirect("sales:scoring_rules")
    rules = list(LeadScoringRule.objects.for_tenant(tenant).order_by("position", "pk"))
    # How many open leads each rule matches now: one query for all the rules.
    open_leads = Lead.objects.for_tenant(tenant).exclude(status=LeadStatus.CONVERTED)
    matches = {}
    if rules:
        counts = open_leads.aggregate(
            **{f"r{r.pk}": Count("pk", filter=services.rule_condition(r)) for r in rules}, total=Count("pk")
        )
        matches = {r.pk: counts[f"r{r.pk}"] for r in rules}
        total = counts["total"]
    else:
        total = open_leads.count()
    for rule in rules:
        rule.matches = matches.get(rule.pk, 0)
    latest = open_leads.order_by("-scored_at").values_list("scored_at", flat=True).first()
    context = {"form": form, "rules": rules, "total": total, "scored_at": latest}
    return render(request, "sales/settings/scoring.html", context, status=_status(form))


def _get_rule(request: HttpRequest, pk: int) -> LeadScoringRule:
    """Looked up within the tenant first: another tenant's id is 404 for everyone, then the role decides 403."""
    rule = get_object_or_404(LeadScoringRule.objects.for_tenant(request.tenant), pk=pk)
    if not request.user.has_any_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators of this company may open this page."))
    return rule


@tenant_required
@require_http_methods(["GET", "POST"])
def scoring_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _get_rule(request, pk)
    form = ScoringRuleForm.for_rule(rule, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _rule, outcome = services.scoring_rule_save(acting_user=request.user, rule=rule, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Rule saved."))
            _recompute_message(request, outcome)
            return redirect("sales:scoring_rules")
    return render(request, "sales/settings/scoring_rule.html", {"form": form, "rule": rule}, status=_status(form))


@tenant_required
@require_POST
def scoring_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _get_rule(request, pk)
    try:
        outcome = services.scoring_rule_delete(acting_user=request.user, rule=rule)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Rule deleted."))
        _recompute_message(request, outcome)
    return redirect("sales:scoring_rules")


@admin_required
@require_POST
def scoring_recompute(request: HttpRequest) -> HttpResponse:
    try:
        _recompute_message(request, services.lead_scores_request_recompute(acting_user=request.user))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("sales:scoring_rules")


# --- settings: the public web form ---------------------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def web_form_settings(request: HttpRequest) -> HttpResponse:
    web_form = services.web_form_for(request.tenant)
    form = WebFormSettingsForm(request.POST or None, user=request.user, web_form=web_form)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.web_form_save(
                acting_user=request.user,
                is_enabled=data["is_enabled"],
                title=data["title"],
                intro=data["intro"],
                thank_you=data["thank_you"],
                fields=data["fields_"],
                required_fields=data["required_fields"],
                owner=data["owner"],
                source=data["source"],
                campaign=data["campaign"],
            )
        except DomainError as exc:
            apply_domain_error(form, _field_error(exc))
        else:
            messages.success(request, _("Web form saved."))
            return redirect("sales:web_form_settings")
    public_url = request.build_absolute_uri(reverse("sales:public_lead_form", args=[request.tenant.slug]))
    since = timezone.now() - timezone.timedelta(days=30)
    received = (
        Lead.objects.for_tenant(request.tenant)
        .filter(origin="web_form")
        .aggregate(total=Count("pk"), recent=Count("pk", filter=Q(created_at__gte=since)))
    )
    context = {"form": form, "web_form": web_form, "public_url": public_url, "received": received}
    return render(request, "sales/settings/web_form.html", context, status=_status(form))


def _field_error(exc: DomainError) -> DomainError:
    """The service names the model's `fields`; the form's field is `fields_` (`fields` is taken by Django)."""
    return DomainError(exc.message, field="fields_" if exc.field == "fields" else exc.field)
