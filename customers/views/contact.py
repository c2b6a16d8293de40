"""A customer's contacts: add, edit, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.errors import DomainError
from crm.web import apply_domain_error, domain_action, tenant_required
from customers.access import get_contact_for_user, get_customer_for_user
from customers.forms.contact import ContactForm
from customers.services.contact import contact_delete, contact_save
from customers.services.privacy import REVEAL_FIELDS, RevealRefused, personal_data_reveal


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
