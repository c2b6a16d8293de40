from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.models import Role
from crm.registry import registry
from crm.services import DomainError
from crm.views import apply_domain_error, tenant_required

from . import services
from .filters import CustomerFilter
from .forms import ContactForm, CustomerForm, NewCustomerForm, ShareForm, TransferForm
from .models import Contact, Customer, CustomerTag, CustomerUserObjectPermission, OwnershipEvent, Tag
from .normalize import format_phone

PAGE_SIZE = 50
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows: a list over a million customers shows "10,000+" instead of a full COUNT.
    The count runs on `count_queryset` (the filtered rows without display annotations) when given."""

    def __init__(self, object_list, per_page, *, count_queryset=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count_queryset = count_queryset if count_queryset is not None else object_list

    @cached_property
    def count(self) -> int:
        return self.count_queryset.order_by()[: COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP


# --- access helpers ------------------------------------------------------------------------------------------


def get_customer_for_user(request: HttpRequest, pk: int, *, for_change: bool = False) -> Customer:
    """The customer if `request.user` may see it, else 404 (same answer for missing and not yours);
    PermissionDenied when they may see but not change it."""
    customer = get_object_or_404(
        Customer.objects.visible_to(request.user).select_related("owner", "owner__team", "level", "pool"), pk=pk
    )
    if for_change:
        services.require_edit(request.user, customer)
    return customer


def get_contact_for_user(request: HttpRequest, customer: Customer, pk: int) -> Contact:
    return get_object_or_404(Contact.objects.for_tenant(request.tenant), pk=pk, customer=customer)


def is_manager_or_admin(user) -> bool:
    return user.has_role(Role.ADMIN) or user.has_role(Role.MANAGER)


def selected_ids(request: HttpRequest, limit: int = 500) -> tuple[str, list[int]]:
    """The record ids a bulk action was asked for — a confirmed form's "ids", the list's checked boxes, or ?ids= —
    as the raw value and as sorted integers (at most `limit`; junk gives none). The caller scopes them."""
    raw = request.POST.get("ids") or ",".join(request.POST.getlist("selected")) or request.GET.get("ids", "")
    try:
        return raw, sorted({int(x) for x in raw.split(",") if x.strip()})[:limit]
    except ValueError:
        return raw, []


def primary_contact_annotations():
    primary = Contact.objects.filter(customer=OuterRef("pk")).order_by("-is_primary", "pk")
    return {
        "primary_name": Subquery(primary.values("name")[:1]),
        "primary_mobile": Subquery(primary.values("mobile")[:1]),
    }


# --- list ----------------------------------------------------------------------------------------------------


@tenant_required
@vary_on_headers("HX-Request")
def customer_list(request: HttpRequest) -> HttpResponse:
    base = Customer.objects.visible_to(request.user).select_related("owner", "level", "pool")
    filterset = CustomerFilter(request.GET or None, queryset=base, request=request)
    # Invalid filter values (e.g. another tenant's owner id) are ignored field by field and shown on the form.
    filtered = filterset.qs
    qs = filtered.annotate(**primary_contact_annotations())
    page = CappedPaginator(qs, PAGE_SIZE, count_queryset=filtered).get_page(request.GET.get("page"))
    customers = list(page)
    tag_rows = CustomerTag.objects.filter(customer__in=[c.pk for c in customers]).select_related("tag")
    tags_by_customer: dict[int, list[Tag]] = {}
    for row in tag_rows:
        tags_by_customer.setdefault(row.customer_id, []).append(row.tag)
    for customer in customers:
        customer.tag_list = tags_by_customer.get(customer.pk, [])
        customer.primary_mobile_display = format_phone(customer.primary_mobile or "")
    context = {
        "filter": filterset,
        "page": page,
        "customers": customers,
        "can_bulk": is_manager_or_admin(request.user),
        "is_admin": request.user.has_role(Role.ADMIN),
        # The import menu: the kinds of record this page's users may import (customers, contacts into them…).
        "import_kinds": registry.import_kinds_for(request.user, menu="customers"),
    }
    template = "customers/partials/results.html" if request.htmx and not request.htmx.boosted else "customers/list.html"
    return render(request, template, context)


# --- create / detail / edit ----------------------------------------------------------------------------------


@tenant_required
@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest) -> HttpResponse:
    form = NewCustomerForm(request.POST or None, tenant=request.tenant, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(
                acting_user=request.user,
                data=form.customer_data(),
                contact=form.contact_data(),
                owner=None
                if form.cleaned_data.get("assign_by_rules")
                else (form.cleaned_data.get("owner") or request.user),
                tags=form.cleaned_data.get("tags") or [],
                assign_by_rules=bool(form.cleaned_data.get("assign_by_rules")),
            )
        except services.DuplicateCustomer as exc:
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
    customer = get_customer_for_user(request, pk)
    contacts = list(Contact.objects.filter(customer=customer).order_by("-is_primary", "name", "pk"))
    for contact in contacts:
        contact.mobile_display = format_phone(contact.mobile)
        contact.phone_display = format_phone(contact.phone)
    tags = Tag.objects.filter(pk__in=CustomerTag.objects.filter(customer=customer).values("tag_id"))
    user = request.user
    can_edit = services.can_edit(user, customer)
    can_manage = services.can_manage(user, customer)
    can_share = can_manage or customer.owner_id == user.pk
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
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "contacts": contacts,
            "tags": tags,
            "can_edit": can_edit,
            "can_manage": can_manage,
            "can_share": can_share,
            "shares": shares,
            "share_form": ShareForm(customer=customer) if can_share else None,
            "contact_form": ContactForm() if can_edit else None,
            "panels": panels,
        },
    )


@tenant_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit the profile: in place on the detail page (htmx swaps the profile card), or as a page without JS."""
    customer = get_customer_for_user(request, pk, for_change=True)
    initial = {f: getattr(customer, f) for f in CustomerForm.base_fields if f != "tags"}
    initial["tags"] = list(CustomerTag.objects.filter(customer=customer).values_list("tag_id", flat=True))
    form = CustomerForm(request.POST or None, tenant=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(
                acting_user=request.user, customer=customer, data=form.customer_data(), tags=form.cleaned_data["tags"]
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if request.htmx:
                customer = get_customer_for_user(request, pk)
                return render(request, "customers/partials/profile.html", {"customer": customer})
            messages.success(request, _("Customer saved."))
            return redirect("customers:detail", pk=customer.pk)
    template = "customers/partials/profile_form.html" if request.htmx else "customers/form.html"
    return render(request, template, {"form": form, "customer": customer}, status=422 if form.errors else 200)


@tenant_required
@require_POST
def customer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_customer_for_user(request, pk)
    services.customer_trash(acting_user=request.user, customer=customer)
    messages.success(
        request,
        _("%(name)s moved to the recycle bin. You can restore it within %(days)d days.")
        % {"name": customer.name, "days": services.TRASH_DAYS},
    )
    return redirect("customers:list")


# --- contacts ------------------------------------------------------------------------------------------------


@tenant_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int, contact_pk: int | None = None) -> HttpResponse:
    customer = get_customer_for_user(request, pk, for_change=True)
    contact = get_contact_for_user(request, customer, contact_pk) if contact_pk else None
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in ContactForm.Meta.fields}
        if contact is not None:
            contact.refresh_from_db()
        try:
            services.contact_save(acting_user=request.user, customer=customer, data=data, contact=contact)
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
def contact_delete(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    customer = get_customer_for_user(request, pk, for_change=True)
    contact = get_contact_for_user(request, customer, contact_pk)
    services.contact_delete(acting_user=request.user, contact=contact)
    messages.success(request, _("Contact %(name)s removed.") % {"name": contact.name})
    return redirect("customers:detail", pk=customer.pk)


# --- sharing and transfer ------------------------------------------------------------------------------------


@tenant_required
@require_POST
def customer_share(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_customer_for_user(request, pk)
    form = ShareForm(request.POST, customer=customer)
    if form.is_valid():
        try:
            services.customer_share(
                acting_user=request.user,
                customer=customer,
                with_user=form.cleaned_data["user"],
                can_change=form.cleaned_data["can_change"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Shared with %(name)s.") % {"name": form.cleaned_data["user"].full_name})
    else:
        messages.error(request, _("Choose a colleague of your company."))
    return redirect("customers:detail", pk=customer.pk)


@tenant_required
@require_POST
def customer_unshare(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    customer = get_customer_for_user(request, pk)
    from crm.models import User

    colleague = get_object_or_404(User.objects.for_tenant(request.tenant), pk=user_pk)
    services.customer_unshare(acting_user=request.user, customer=customer, with_user=colleague)
    messages.success(request, _("No longer shared with %(name)s.") % {"name": colleague.full_name})
    return redirect("customers:detail", pk=customer.pk)


@tenant_required
@require_http_methods(["GET", "POST"])
def customer_transfer(request: HttpRequest) -> HttpResponse:
    """Transfer one or many customers (ids from the list's checkboxes or the detail page) to another rep."""
    if not is_manager_or_admin(request.user):
        raise PermissionDenied(_("Only managers and administrators transfer customers."))
    ids_param, wanted = selected_ids(request)
    confirming = request.method == "POST" and "to_owner" in request.POST
    form = TransferForm(request.POST if confirming else None, user=request.user, initial={"ids": ids_param})
    # Only customers the user may manage are listed or moved; others' ids are ignored, never revealed.
    chosen = list(Customer.objects.managed_by(request.user).filter(pk__in=wanted).select_related("owner")[:500])
    if confirming and form.is_valid():
        allowed = {c.pk for c in chosen}
        if set(form.cleaned_data["ids"]) - allowed:
            form.add_error(None, _("Some of these customers are not yours to transfer."))
        else:
            try:
                moved = services.customer_transfer(
                    acting_user=request.user,
                    customers=chosen,
                    to_owner=form.cleaned_data["to_owner"],
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(
                    request,
                    _("%(count)d customers transferred to %(name)s.")
                    % {"count": moved, "name": form.cleaned_data["to_owner"].full_name},
                )
                return redirect("customers:detail", pk=chosen[0].pk) if len(chosen) == 1 else redirect("customers:list")
    return render(
        request,
        "customers/transfer.html",
        {"form": form, "chosen": chosen, "ids": ",".join(str(c.pk) for c in chosen)},
        status=422 if form.errors else 200,
    )


def ownership_timeline_context(request: HttpRequest, customer: Customer) -> dict:
    events = (
        OwnershipEvent.objects.filter(tenant=customer.tenant, customer=customer)
        .select_related("from_owner", "to_owner", "actor", "from_pool", "to_pool")
        .order_by("-at", "-pk")[:100]
    )
    return {"events": events}


@tenant_required
@require_http_methods(["GET", "POST"])
def customer_move_pool(request: HttpRequest) -> HttpResponse:
    """Admins change the home pool of one or many customers (its rules then govern them and they return there)."""
    from . import pool as pool_services
    from .forms import MovePoolForm

    if not request.user.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators move customers between pools."))
    _raw, wanted = selected_ids(request)
    chosen = list(Customer.objects.visible_to(request.user).filter(pk__in=wanted).select_related("pool", "owner"))
    confirming = request.method == "POST" and "pool" in request.POST
    form = MovePoolForm(request.POST if confirming else None, tenant=request.tenant)
    if confirming and form.is_valid() and chosen:
        moved = pool_services.move_to_pool(
            acting_user=request.user, customer_ids=[c.pk for c in chosen], pool=form.cleaned_data["pool"]
        )
        messages.success(
            request,
            _("%(count)d customers now belong to the pool “%(pool)s”.")
            % {"count": moved, "pool": form.cleaned_data["pool"].name},
        )
        return redirect("customers:list")
    return render(
        request,
        "customers/move_pool.html",
        {"form": form, "chosen": chosen, "ids": ",".join(str(c.pk) for c in chosen)},
        status=422 if form.errors else 200,
    )
