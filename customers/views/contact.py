"""Contacts: the list of the contacts a user may see (/contacts/), and a customer's contacts: add, edit, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.web import PAGE_SIZE, CappedPaginator, apply_domain_error, domain_action, tenant_required
from customers.access import get_contact_for_user, get_customer_for_user, sees_personal_data
from customers.filters import ContactFilter
from customers.forms.contact import ContactForm
from customers.models import Contact
from customers.normalize import format_phone, mask
from customers.services.contact import contact_delete, contact_save
from customers.services.privacy import REVEAL_FIELDS, RevealRefused, personal_data_reveal


@tenant_required
@vary_on_headers("HX-Request")
def contact_list(request: HttpRequest) -> HttpResponse:
    """The contacts of the customers the user may see (Customer.objects.visible_to), searched, filtered and sorted.
    A fixed number of queries whatever the page size: the custom fields, the capped count and the page with its
    customers and their owners. Mobiles and emails are masked outside the user's own customers, with Reveal."""
    base = Contact.objects.visible_to(request.user).select_related("customer", "customer__owner")
    filterset = ContactFilter(request.GET or None, queryset=base, request=request)
    qs = filterset.qs
    page = CappedPaginator(qs, PAGE_SIZE, count_queryset=qs).get_page(request.GET.get("page"))
    contacts = list(page)
    for contact in contacts:
        if sees_personal_data(request.user, contact.customer):
            contact.mobile_display, contact.email_display = format_phone(contact.mobile), contact.email
            contact.tel, contact.mailto = contact.mobile, contact.email
        else:
            # Masked on others' customers; the values never reach the template.
            contact.mobile_masked, contact.email_masked = mask("mobile", contact.mobile), mask("email", contact.email)
        contact.mobile = contact.phone = contact.email = contact.wechat = ""
    context = {"filter": filterset, "page": page, "contacts": contacts}
    template = (
        "customers/contact/partials/results.html"
        if request.htmx and not request.htmx.boosted
        else "customers/contact/list.html"
    )
    return render(request, template, context)


@tenant_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int, contact_pk: int | None = None) -> HttpResponse:
    customer = get_customer_for_user(request.user, pk, for_change=True)
    contact = get_contact_for_user(request.user, customer, contact_pk) if contact_pk else None
    if contact is not None and request.method == "GET":
        # The form shows the phones and email: on a customer one does not own, opening it reveals them (logged and
        # counted like the Reveal buttons).
        try:
            personal_data_reveal(user=request.user, contact=contact, fields=REVEAL_FIELDS)
        except RevealRefused as exc:
            messages.error(request, exc.message)
            return redirect("customers:detail", pk=customer.pk)
    form = ContactForm(request.POST or None, instance=contact, tenant_id=request.user.tenant_id)
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in [*ContactForm.Meta.fields, "marketing_consent"]}
        custom = form.custom_data()
        if custom is not None:
            data["custom"] = custom
        if contact is not None:
            contact.refresh_from_db()
        try:
            contact_save(acting_user=request.user, customer=customer, data=data, contact=contact)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Contact saved."))
            return redirect("customers:detail", pk=customer.pk)
    return render(
        request,
        "customers/contact_form.html",
        {"form": form, "customer": customer, "contact": contact},
        status=422 if form.errors else 200,
    )


@tenant_required
@require_POST
def contact_delete_view(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    customer = get_customer_for_user(request.user, pk, for_change=True)
    contact = get_contact_for_user(request.user, customer, contact_pk)
    return domain_action(
        request,
        lambda: contact_delete(acting_user=request.user, contact=contact),
        success=_("Contact %(name)s removed.") % {"name": contact.name},
        then=reverse("customers:detail", kwargs={"pk": customer.pk}),
        on_error="customers:list",
    )
