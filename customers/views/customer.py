"""Customer pages: the list, create, the 360° detail, edit in place, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import is_sales_user, require_sales_user
from crm.errors import DomainError
from crm.models import Role
from crm.registry import registry
from crm.web import PAGE_SIZE, CappedPaginator, apply_domain_error, tenant_required
from customers.access import can_edit, can_manage, get_customer_for_user, sees_personal_data
from customers.filters import CustomerFilter
from customers.forms.contact import ContactForm
from customers.forms.customer import CustomerForm, NewCustomerForm
from customers.forms.extension import ExtensionRequestForm
from customers.forms.share import ShareForm
from customers.models import Contact, Customer, CustomerTag, CustomerUserObjectPermission, Tag
from customers.normalize import format_phone, mask
from customers.querysets import visible_scope
from customers.selectors.listing import CustomerPageIds, customer_rows
from customers.selectors.pool import fallback_day, mark_extension_state
from customers.services.customer import customer_create, customer_update
from customers.services.identifier import DuplicateCustomer
from customers.services.trash import TRASH_DAYS, customer_trash


@tenant_required
@vary_on_headers("HX-Request")
def customer_list(request: HttpRequest) -> HttpResponse:
    scope = visible_scope(request.user)
    filterset = CustomerFilter(
        request.GET or None, queryset=Customer.objects.visible_to(request.user, scope), request=request
    )
    # Invalid filter values (e.g. another tenant's owner id) are ignored field by field and shown on the form.
    filtered = filterset.qs
    # The page is chosen over the sort index (ids only), then its rows are read with what the list shows.
    ids = CustomerPageIds(filterset, scope)
    page = CappedPaginator(ids, PAGE_SIZE, count_queryset=filtered).get_page(request.GET.get("page"))
    customers = customer_rows(list(page), request.tenant)
    page.object_list = customers  # the page holds its customers, as any list page's does
    tag_rows = CustomerTag.objects.filter(customer__in=[c.pk for c in customers]).select_related("tag")
    tags_by_customer: dict[int, list[Tag]] = {}
    for row in tag_rows:
        tags_by_customer.setdefault(row.customer_id, []).append(row.tag)
    for customer in customers:
        customer.tag_list = tags_by_customer.get(customer.pk, [])
        if sees_personal_data(request.user, customer):
            customer.primary_mobile_display = format_phone(customer.primary_mobile or "")
            customer.primary_tel = customer.primary_mobile
        elif customer.primary_mobile:
            # Masked on others' customers; the unmasked number never reaches the template.
            customer.primary_masked = mask("mobile", customer.primary_mobile)
            customer.primary_contact = Contact(pk=customer.primary_contact_id)
        customer.primary_mobile = None
    context = {
        "filter": filterset,
        "page": page,
        "customers": customers,
        "can_bulk": request.user.has_any_role(Role.ADMIN, Role.MANAGER),
        # An agent reads customers but creates none: no button to a page that refuses them.
        "can_create": is_sales_user(request.user),
        # Whoever holds customers may release the checked ones of their own.
        "can_release": request.user.has_any_role(Role.REP, Role.MANAGER, Role.ADMIN),
        "is_admin": request.user.has_any_role(Role.ADMIN),
        # The import menu: the kinds of record this page's users may import (customers, contacts into them…).
        "import_kinds": registry.import_kinds_for(request.user, menu="customers"),
    }
    template = "customers/partials/results.html" if request.htmx and not request.htmx.boosted else "customers/list.html"
    return render(request, template, context)


@tenant_required
@require_http_methods(["GET", "POST"])
def customer_create_view(request: HttpRequest) -> HttpResponse:
    require_sales_user(request.user)
    form = NewCustomerForm(request.POST or None, tenant=request.tenant, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_create(
                acting_user=request.user,
                data=form.customer_data(),
                contact=form.contact_data(),
                owner=None
                if form.cleaned_data.get("assign_by_rules")
                else (form.cleaned_data.get("owner") or request.user),
                tags=form.cleaned_data.get("tags") or [],
                assign_by_rules=bool(form.cleaned_data.get("assign_by_rules")),
            )
        except DuplicateCustomer as exc:
            field = {"mobile": "contact_mobile", "phone": "contact_mobile", "email": "contact_email"}.get(
                exc.field, exc.field
            )
            form.add_error(field if field in form.fields else None, exc.message)
        except DomainError as exc:
            field = {"contact_name": "contact_name", "mobile": "contact_mobile", "birthday": None}.get(
                exc.field, exc.field
            )
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/form.html", {"form": form, "creating": True}, status=422 if form.errors else 200)


@tenant_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_customer_for_user(request.user, pk)
    contacts = list(Contact.objects.filter(customer=customer).order_by("-is_primary", "name", "pk"))
    sees = sees_personal_data(request.user, customer)
    for contact in contacts:
        if sees:
            contact.mobile_display = format_phone(contact.mobile)
            contact.phone_display = format_phone(contact.phone)
        else:
            # Masked outside one's own customers (个人信息保护法): the values never reach the template.
            contact.masked = {f: mask(f, getattr(contact, f)) for f in ("mobile", "phone", "email", "wechat")}
            contact.mobile = contact.phone = contact.email = contact.wechat = ""
    tags = Tag.objects.filter(pk__in=CustomerTag.objects.filter(customer=customer).values("tag_id"))
    user = request.user
    may_edit = can_edit(user, customer)
    may_manage = can_manage(user, customer)
    can_share = may_manage or customer.owner_id == user.pk
    shares = []
    if can_share:
        share_rows = CustomerUserObjectPermission.objects.filter(content_object=customer).select_related(
            "user", "permission"
        )
        by_user: dict[int, dict] = {}
        for row in share_rows:
            entry = by_user.setdefault(row.user_id, {"user": row.user, "can_change": False})
            entry["can_change"] = entry["can_change"] or row.permission.codename == "change_customer"
        shares = list(by_user.values())
    panels = [
        {"panel": panel, "context": panel.context(request, customer)} for panel in registry.customer_panels_for(user)
    ]
    fallback = fallback_day(customer)
    if fallback is not None:
        mark_extension_state([customer])
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "contacts": contacts,
            "tags": tags,
            "can_edit": may_edit,
            "can_manage": may_manage,
            "can_share": can_share,
            "shares": shares,
            "share_form": ShareForm(customer=customer) if can_share else None,
            "contact_form": ContactForm(tenant_id=request.user.tenant_id) if may_edit else None,
            "panels": panels,
            "sees_personal_data": sees,
            "is_admin": user.has_any_role(Role.ADMIN),
            "fallback_day": fallback,
            "request_form": ExtensionRequestForm() if fallback is not None and customer.owner_id == user.pk else None,
        },
    )


@tenant_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit the profile: in place on the detail page (htmx swaps the profile card), or as a page without JS."""
    customer = get_customer_for_user(request.user, pk, for_change=True)
    initial = {f: getattr(customer, f) for f in CustomerForm.base_fields if f != "tags"}
    initial["tags"] = list(CustomerTag.objects.filter(customer=customer).values_list("tag_id", flat=True))
    form = CustomerForm(request.POST or None, tenant=request.tenant, initial=initial, custom=customer.custom)
    if request.method == "POST" and form.is_valid():
        try:
            customer_update(
                acting_user=request.user, customer=customer, data=form.customer_data(), tags=form.cleaned_data["tags"]
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if request.htmx:
                customer = get_customer_for_user(request.user, pk)
                return render(request, "customers/partials/profile.html", {"customer": customer})
            messages.success(request, _("Customer saved."))
            return redirect("customers:detail", pk=customer.pk)
    template = "customers/partials/profile_form.html" if request.htmx else "customers/form.html"
    return render(request, template, {"form": form, "customer": customer}, status=422 if form.errors else 200)


@tenant_required
@require_POST
def customer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_customer_for_user(request.user, pk)
    customer_trash(acting_user=request.user, customer=customer)
    messages.success(
        request,
        _("%(name)s moved to the recycle bin. You can restore it within %(days)d days.")
        % {"name": customer.name, "days": TRASH_DAYS},
    )
    return redirect("customers:list")
