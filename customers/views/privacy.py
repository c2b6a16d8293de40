"""Personal data (个人信息保护法): revealing a masked phone or email, a contact's data downloaded and erased on the
person's request, and the admins' privacy log (reveals, exports, erasures)."""

from __future__ import annotations

import csv
import io
import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import AuditEvent
from crm.registry import registry
from crm.spreadsheet import neutralise
from crm.web import PAGE_SIZE, admin_required, tenant_required
from customers.access import get_contact_for_user, get_customer_for_user
from customers.forms.privacy import EraseForm, PersonalDataFormatForm, PrivacyLogForm, RevealForm
from customers.models import PersonalDataReveal
from customers.selectors.privacy import lead_links
from customers.services.privacy import (
    contact_erase,
    contact_personal_data,
    personal_data_reveal,
    reveals_left_today,
)

PERSONAL_DATA_EXPORT = "contact.personal_data_export"


def _list_exports() -> dict[str, str]:
    """The audit action of every list export (customers, leads, opportunities, tickets…) → the list's name."""
    return {kind.export_action: kind.label() for kind in registry.export_kinds()}


@tenant_required
@require_POST
def contact_reveal(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    """One masked field of a contact, revealed in place (htmx swaps the value in); logged and capped."""
    customer = get_customer_for_user(request.user, pk)
    contact = get_contact_for_user(request.user, customer, contact_pk)
    form = RevealForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Choose a phone or an email to reveal."), status=400)
    field = form.cleaned_data["field"]
    context = {"customer": customer, "contact": contact, "field": field}
    try:
        context["value"] = personal_data_reveal(user=request.user, contact=contact, fields=[field]).get(field, "")
    except DomainError as exc:
        context["error"] = exc.message
    if not request.htmx:
        if "error" in context:
            messages.error(request, context["error"])
        else:
            messages.info(request, _("%(name)s: %(value)s") % {"name": contact.name, "value": context["value"]})
        return redirect("customers:detail", pk=customer.pk)
    context["reveals_left"] = reveals_left_today(request.user)
    return render(request, "customers/partials/revealed.html", context)


@tenant_required
@require_GET
def contact_personal_data_view(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    """Everything kept about a contact, as a JSON or CSV download (the person's access request). Admins only."""
    customer = get_customer_for_user(request.user, pk)
    contact = get_contact_for_user(request.user, customer, contact_pk)
    require_admin(request.user)
    fmt = PersonalDataFormatForm(request.GET).value("format")
    data = contact_personal_data(acting_user=request.user, contact=contact)
    name = f"contact-{contact.pk}-personal-data.{fmt}"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["field", "value"])
        for key, value in data.items():
            if key == "reveals":
                for reveal in value:
                    writer.writerow(
                        [neutralise("reveal"), neutralise(f"{reveal['at']} {reveal['user']} {reveal['field']}")]
                    )
            elif isinstance(value, list):
                # Other apps' records (leads, follow-ups): one line each, its fields as name=value.
                for record in value:
                    text = "; ".join(f"{k}={'' if v is None else v}" for k, v in record.items())
                    writer.writerow([neutralise(key), neutralise(text)])
            else:
                writer.writerow([key, neutralise("" if value is None else str(value))])
        response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@tenant_required
@require_http_methods(["GET", "POST"])
def contact_erase_view(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    """Erase a contact's personal data on the person's request: a confirmation page first, then for good."""
    customer = get_customer_for_user(request.user, pk)
    contact = get_contact_for_user(request.user, customer, contact_pk)
    require_admin(request.user)
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            contact_erase(acting_user=request.user, contact=contact)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The contact's personal data was erased."))
            return redirect("customers:detail", pk=customer.pk)
    return render(
        request,
        "customers/privacy/erase.html",
        {"customer": customer, "contact": contact, "form": form},
        status=422 if form.errors else 200,
    )


@admin_required
def privacy_log(request: HttpRequest) -> HttpResponse:
    """Who revealed whose phone or email, who exported what (filters, rows), which contacts were erased."""
    query = PrivacyLogForm(request.GET)
    tab = query.value("tab")
    if tab == "reveals":
        rows = (
            PersonalDataReveal.objects.for_tenant(request.tenant)
            .select_related("user", "customer", "contact")
            .order_by("-created_at", "-pk")
        )
    else:
        list_exports = _list_exports()
        actions = [*list_exports, PERSONAL_DATA_EXPORT] if tab == "exports" else ["contact.erase"]
        rows = (
            AuditEvent.objects.for_tenant(request.tenant)
            .filter(action__in=actions)
            .select_related("actor")
            .order_by("-at", "-id")
        )
    page = Paginator(rows, PAGE_SIZE).get_page(query.value("page"))
    links = {}
    if tab == "exports":
        page.object_list = list(page.object_list)
        for event in page.object_list:
            event.list_name = list_exports.get(event.action, "")
    if tab == "reveals":
        page.object_list = list(page.object_list)
        links = lead_links(request.user, (r.lead_id for r in page.object_list))
        for reveal in page.object_list:
            reveal.lead_url = links.get(reveal.lead_id, "")
    return render(
        request,
        "customers/privacy/log.html",
        {"tab": tab, "tabs": PrivacyLogForm.TABS, "page": page, "limit": request.tenant.daily_reveal_limit},
    )
