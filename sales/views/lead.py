"""Leads: the list (with bulk hand-out), create, edit, detail, status, hand out, follow-ups."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import safe_redirect_url
from crm.errors import DomainError
from crm.web import PAGE_SIZE, CappedPaginator, apply_domain_error, domain_action, form_status, tenant_required
from customers.models import Customer
from customers.normalize import format_phone, mask
from customers.services.privacy import reveals_left_today
from sales.access import (
    followup_editable_by,
    get_lead_for_user,
    is_lead_manager,
    require_leads,
    sees_lead_personal_data,
)
from sales.exports.lead import LeadExport
from sales.filters import LeadFilter
from sales.forms.followup import FollowUpForm
from sales.forms.lead import LeadAssignForm, LeadBulkAssignForm, LeadForm, LeadRevealForm, LeadStatusForm
from sales.models import FollowUp, Lead, LeadStatus, Opportunity
from sales.selectors.lead_pool import lead_fallback_context, with_lead_fallback_at
from sales.services.followup import NextTask, followup_log
from sales.services.lead import LEAD_FIELDS, lead_assign, lead_create, lead_set_status, lead_update
from sales.services.lead_duplicate import duplicate_notes
from sales.services.lead_privacy import LEAD_REVEAL_FIELDS, RevealRefused, lead_masked, lead_personal_data_reveal
from sales.services.lead_scoring import score_breakdown


@tenant_required
@vary_on_headers("HX-Request")
def lead_list(request: HttpRequest) -> HttpResponse:
    """Fixed queries whatever the page size: the count (capped) and the page with its owners."""
    require_leads(request.user)
    base = Lead.objects.visible_to(request.user).select_related("owner")
    filterset = LeadFilter(request.GET, queryset=base, request=request)
    qs = filterset.qs
    # Each owned lead's fall-back moment, by the lead pools' own arithmetic (sales.selectors.lead_pool).
    shown = with_lead_fallback_at(qs, request.tenant)
    page = CappedPaginator(shown, PAGE_SIZE, count_queryset=qs).get_page(request.GET.get("page"))
    leads = list(page)
    for lead in leads:
        if sees_lead_personal_data(request.user, lead):
            lead.phone_display, lead.email_display = format_phone(lead.phone), lead.email
            # Dialled and mailed from the list: only the user's own leads, whose values they see.
            lead.tel, lead.mailto = lead.phone, lead.email
        else:
            # Masked outside one's own leads; the values never reach the template.
            lead.phone_display, lead.email_display = mask("phone", lead.phone), mask("email", lead.email)
        lead.phone = lead.email = lead.wechat = ""
    is_manager = is_lead_manager(request.user)
    context = {
        "filter": filterset,
        "page": page,
        "leads": leads,
        "can_assign": is_manager,
        "export_url": reverse("sales:lead_export") if LeadExport.can_export(request.user) else None,
        "assign_form": LeadAssignForm(user=request.user) if is_manager else None,
    }
    template = "sales/leads/_results.html" if request.htmx and not request.htmx.boosted else "sales/leads/list.html"
    return render(request, template, context)


@tenant_required
@require_POST
def lead_bulk_assign(request: HttpRequest) -> HttpResponse:
    require_leads(request.user)
    if not is_lead_manager(request.user):
        raise PermissionDenied(_("Only managers and administrators assign leads."))
    form = LeadBulkAssignForm(request.POST, user=request.user)
    back = safe_redirect_url(request, request.POST.get("back"), reverse("sales:lead_list"))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    return domain_action(
        request,
        lambda: lead_assign(
            acting_user=request.user, leads=form.cleaned_data["leads"], owner=form.cleaned_data["owner"]
        ),
        success=lambda moved: (
            _("%(count)d leads given to %(name)s.") % {"count": moved, "name": form.cleaned_data["owner"].full_name}
        ),
        then=back,
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def lead_create_view(request: HttpRequest) -> HttpResponse:
    require_leads(request.user)
    form = LeadForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            lead = lead_create(acting_user=request.user, data=form.lead_data(), owner=form.chosen_owner())
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if lead.is_duplicate:
                messages.warning(request, _("Lead saved. It matches an existing record: see below."))
            else:
                messages.success(request, _("Lead saved."))
            return redirect("sales:lead_detail", pk=lead.pk)
    return render(request, "sales/leads/form.html", {"form": form, "creating": True}, status=form_status(form))


@tenant_required
@require_http_methods(["GET", "POST"])
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, pk)
    if lead.is_converted:
        messages.info(request, _("A converted lead stays as it was; change its customer instead."))
        return redirect("sales:lead_detail", pk=lead.pk)
    if request.method == "GET":
        # The form shows the phone, email and WeChat id: on a lead one does not own, opening it reveals them (logged
        # and counted like the Reveal buttons).
        try:
            lead_personal_data_reveal(user=request.user, lead=lead, fields=LEAD_REVEAL_FIELDS)
        except RevealRefused as exc:
            messages.error(request, exc.message)
            return redirect("sales:lead_detail", pk=lead.pk)
    initial = {f: getattr(lead, f) for f in LEAD_FIELDS}
    initial["product"] = lead.product_id
    initial["tags"] = list(lead.tags.values_list("pk", flat=True))
    initial["phone"] = format_phone(lead.phone)
    form = LeadForm(request.POST or None, user=request.user, creating=False, initial=initial, custom=lead.custom)
    if request.method == "POST" and form.is_valid():
        try:
            lead_update(acting_user=request.user, lead=lead, data=form.lead_data())
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Lead saved."))
            return redirect("sales:lead_detail", pk=lead.pk)
    return render(request, "sales/leads/form.html", {"form": form, "lead": lead}, status=form_status(form))


def lead_followup_context(request: HttpRequest, lead: Lead, form: FollowUpForm | None = None) -> dict:
    follow_ups = list(
        FollowUp.objects.filter(tenant_id=lead.tenant_id, lead=lead)
        .select_related("author")
        .order_by("-happened_at", "-pk")[:50]
    )
    for follow_up in follow_ups:
        follow_up.can_edit = followup_editable_by(request.user, follow_up)
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
    lead = get_lead_for_user(request.user, pk)
    user = request.user
    duplicates = list(
        Lead.objects.visible_to(user)
        .filter(duplicate_of_lead=lead)
        .select_related("owner")
        .order_by("-created_at")[:20]
    )
    sees = sees_lead_personal_data(user, lead)
    context = {
        "lead": lead,
        "sees_personal_data": sees,
        "phone_display": format_phone(lead.phone) if sees else "",
        "masked": {} if sees else lead_masked(lead),
        "duplicate_notes": duplicate_notes(lead, user),
        "breakdown": score_breakdown(lead),
        "duplicates": duplicates,
        "p": lead_followup_context(request, lead),
        "status_form": LeadStatusForm(initial={"status": lead.status}),
        "assign_form": LeadAssignForm(user=user, initial={"owner": lead.owner})
        if is_lead_manager(user) and not lead.is_converted
        else None,
        "can_convert": lead.status == LeadStatus.QUALIFIED,
        "customer_visible": bool(
            lead.customer_id and Customer.objects.visible_to(user).filter(pk=lead.customer_id).exists()
        ),
        "opportunity_visible": bool(
            lead.opportunity_id and Opportunity.objects.visible_to(user).filter(pk=lead.opportunity_id).exists()
        ),
        **lead_fallback_context(lead, user),
    }
    if not sees:
        # The unmasked values never reach the template.
        lead.phone = lead.email = lead.wechat = ""
    return render(request, "sales/leads/detail.html", context)


@tenant_required
@require_POST
def lead_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """One masked field of a lead, revealed in place (htmx swaps the value in); logged and capped."""
    lead = get_lead_for_user(request.user, pk)
    form = LeadRevealForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Choose a phone, an email or a WeChat ID to reveal."), status=400)
    field = form.cleaned_data["field"]
    context = {"field": field}
    try:
        context["value"] = lead_personal_data_reveal(user=request.user, lead=lead, fields=[field]).get(field, "")
    except RevealRefused as exc:
        context["error"] = exc.message
    if not request.htmx:
        if "error" in context:
            messages.error(request, context["error"])
        else:
            messages.info(request, _("%(name)s: %(value)s") % {"name": lead.name, "value": context["value"]})
        return redirect("sales:lead_detail", pk=lead.pk)
    context["reveals_left"] = reveals_left_today(request.user)
    return render(request, "customers/partials/revealed.html", context)


@tenant_required
@require_POST
def lead_status(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, pk)
    form = LeadStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
        return redirect("sales:lead_detail", pk=lead.pk)
    return domain_action(
        request,
        lambda: lead_set_status(
            acting_user=request.user, lead=lead, status=form.cleaned_data["status"], reason=form.cleaned_data["reason"]
        ),
        success=lambda lead: _("The lead is now “%(status)s”.") % {"status": lead.get_status_display()},
        then=reverse("sales:lead_detail", kwargs={"pk": lead.pk}),
    )


@tenant_required
@require_POST
def lead_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, pk)
    if not is_lead_manager(request.user):
        raise PermissionDenied(_("Only managers and administrators assign leads."))
    form = LeadAssignForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, _("Choose yourself or an active member of a team you manage."))
        return redirect("sales:lead_detail", pk=lead.pk)

    def back() -> str:
        # The new owner may be outside what the manager sees no more: the list is the safe way back.
        if not Lead.objects.visible_to(request.user).filter(pk=lead.pk).exists():
            return reverse("sales:lead_list")
        return reverse("sales:lead_detail", kwargs={"pk": lead.pk})

    return domain_action(
        request,
        lambda: lead_assign(acting_user=request.user, leads=[lead], owner=form.cleaned_data["owner"]),
        success=_("Lead given to %(name)s.") % {"name": form.cleaned_data["owner"].full_name},
        then=lambda _moved: back(),
        on_error=back,
    )


@tenant_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def lead_followup(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a follow-up on a lead (htmx: the panel is swapped in place)."""
    lead = get_lead_for_user(request.user, pk)
    if request.method == "GET":
        return render(request, "sales/partials/followup_panel.html", {"p": lead_followup_context(request, lead)})
    form = FollowUpForm(request.POST, customer=None)
    if form.is_valid():
        data = form.cleaned_data
        next_task = None
        if data.get("create_next_task"):
            next_task = NextTask(
                title=data["next_task_title"] or data["next_step"] or str(lead),
                due_at=data["next_task_due_at"],
                remind_at=data["next_task_remind_at"],
            )
        try:
            followup_log(
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
            lead = get_lead_for_user(request.user, pk)
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
