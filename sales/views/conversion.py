"""Converting a lead into a customer and an opportunity."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.errors import DomainError
from crm.web import form_status, tenant_required
from customers.models import Customer
from sales.access import get_lead_for_user
from sales.forms.conversion import LeadConvertForm
from sales.models import Pipeline
from sales.services.conversion import OpportunityDraft, lead_convert
from sales.services.pipeline import ensure_default_pipeline

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
def lead_convert_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_lead_for_user(request.user, pk)
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
            draft = OpportunityDraft(
                name=data["opportunity_name"],
                pipeline=data["opportunity_pipeline"],
                stage=data["opportunity_stage"],
                amount=data["opportunity_amount"],
                currency=data["opportunity_currency"] or request.tenant.currency,
                expected_close_date=data["opportunity_expected_close_date"],
            )
        try:
            lead = lead_convert(
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
    return render(request, "sales/leads/convert.html", {"lead": lead, "form": form}, status=form_status(form))
