"""The customer and contact pickers of the sales forms (htmx options)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from crm.forms import SearchForm
from crm.web import tenant_required
from customers.filters import search_customers
from customers.models import Contact, Customer
from sales.forms.fields import CustomerParamForm


@tenant_required
@require_GET
def customer_options(request: HttpRequest) -> HttpResponse:
    """<option>s for the customer pickers: a search over the customers the user can see (or change, for orders)."""
    editable = request.GET.get("for") == "order"
    base = Customer.objects.editable_by(request.user) if editable else Customer.objects.visible_to(request.user)
    # The picker's search box is named customer_search (so it never clashes with a form's own fields).
    text = SearchForm({"q": request.GET.get("customer_search") or request.GET.get("q") or ""}).value("q")
    customers = (
        list(search_customers(base, text, request.tenant, request.user).order_by("name", "pk")[:20]) if text else []
    )
    # The picker's own select is sent along (hx-include): keep the current choice as an option.
    current = CustomerParamForm(request.GET, queryset=base).value("customer")
    return render(
        request,
        "sales/partials/customer_options.html",
        {"customers": customers, "current": current, "required": request.GET.get("required") == "1"},
    )


@tenant_required
@require_GET
def contact_options(request: HttpRequest) -> HttpResponse:
    """The contacts of the chosen customer, as the appointment form's checkboxes."""
    customer = CustomerParamForm(request.GET, queryset=Customer.objects.visible_to(request.user)).value("customer")
    contacts = Contact.objects.none()
    if customer is not None:
        contacts = Contact.objects.filter(tenant_id=request.tenant.pk, customer=customer).order_by(
            "-is_primary", "name", "pk"
        )
    return render(request, "sales/partials/contact_options.html", {"contacts": contacts})
