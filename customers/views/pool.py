"""The public pool (公海): the list, a pool customer's masked view, claim, release, assign, at risk."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import require_sales_user
from crm.errors import DomainError
from crm.models import Role
from crm.web import PAGE_SIZE, CappedPaginator, apply_domain_error, selected_ids, tenant_required
from customers.access import get_customer_for_user, get_pool_customer_for_user
from customers.filters import PoolCustomerFilter
from customers.forms.extension import ExtensionRequestForm
from customers.forms.pool import AssignForm, ReleaseForm
from customers.models import Contact, Customer, ExtensionRequest, OwnershipEvent, Pool
from customers.normalize import mask
from customers.selectors.pool import fallback_due, pools_with_rules
from customers.services.pool import ClaimRefused, customer_assign, customer_claim, customer_release, record_pool_view


def _last_event_annotations():
    last = OwnershipEvent.objects.filter(customer=OuterRef("pk")).order_by("-at", "-pk")
    primary = Contact.objects.filter(customer=OuterRef("pk")).order_by("-is_primary", "pk")
    return {
        "pooled_at": Subquery(last.values("at")[:1]),
        "pooled_reason": Subquery(last.values("reason")[:1]),
        "primary_name": Subquery(primary.values("name")[:1]),
        "primary_mobile": Subquery(primary.values("mobile")[:1]),
        "primary_email": Subquery(primary.values("email")[:1]),
    }


def _decorate(customers: list[Customer]) -> None:
    """Masked contact data only: the unmasked values never reach the template."""
    reasons = dict(OwnershipEvent.Reason.choices)
    now = timezone.now()
    for c in customers:
        c.masked_mobile = mask("mobile", c.primary_mobile or "")
        c.masked_email = mask("email", c.primary_email or "")
        c.primary_mobile = c.primary_email = None
        c.days_in_pool = (now - c.pooled_at).days if c.pooled_at else None
        c.pooled_reason_label = reasons.get(c.pooled_reason, "")


@tenant_required
@vary_on_headers("HX-Request")
def pool_list(request: HttpRequest) -> HttpResponse:
    require_sales_user(request.user)
    base = Customer.objects.in_pools_for(request.user).select_related("pool", "level")
    filterset = PoolCustomerFilter(request.GET or None, queryset=base, request=request)
    filterset.filters["pool"].queryset = Pool.objects.visible_to(request.user)
    filtered = filterset.qs
    page = CappedPaginator(filtered.annotate(**_last_event_annotations()), PAGE_SIZE, count_queryset=filtered).get_page(
        request.GET.get("page")
    )
    customers = list(page)
    _decorate(customers)
    context = {
        "filter": filterset,
        "page": page,
        "customers": customers,
        "can_assign": request.user.has_any_role(Role.ADMIN, Role.MANAGER),
        "pools": Pool.objects.visible_to(request.user),
    }
    template = (
        "customers/pool/partials/results.html"
        if request.htmx and not request.htmx.boosted
        else "customers/pool/list.html"
    )
    return render(request, template, context)


@tenant_required
def pool_customer(request: HttpRequest, pk: int) -> HttpResponse:
    """A pool customer's masked view; opening it counts against the pool's daily view limit."""
    customer = get_pool_customer_for_user(request.user, pk)
    try:
        views_left = record_pool_view(user=request.user, customer=customer)
    except ClaimRefused as exc:
        messages.error(request, exc.message)
        return redirect("pool:list")
    contacts = list(Contact.objects.filter(customer=customer).order_by("-is_primary", "pk"))
    masked = [
        {
            "name": c.name,
            "title": c.title,
            "mobile": mask("mobile", c.mobile),
            "email": mask("email", c.email),
            "wechat": mask("wechat", c.wechat),
            "is_primary": c.is_primary,
        }
        for c in contacts
    ]
    events = (
        OwnershipEvent.objects.filter(customer=customer)
        .select_related("from_owner", "to_owner", "actor", "from_pool", "to_pool")
        .order_by("-at", "-pk")[:20]
    )
    return render(
        request,
        "customers/pool/customer.html",
        {"customer": customer, "contacts": masked, "views_left": views_left, "p": {"events": events}},
    )


@tenant_required
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    """One click claims (htmx swaps the row); the answer says at once if a colleague was faster or which rule
    stops the claim."""
    try:
        customer = customer_claim(rep=request.user, customer_id=pk)
    except Customer.DoesNotExist as exc:
        raise Http404 from exc
    except ClaimRefused as exc:
        if request.htmx:
            return render(request, "customers/pool/partials/claim_result.html", {"error": exc.message, "pk": pk})
        messages.error(request, exc.message)
        return redirect("pool:list")
    if request.htmx:
        return render(request, "customers/pool/partials/claim_result.html", {"customer": customer, "pk": pk})
    messages.success(request, _("%(name)s is now yours.") % {"name": customer.name})
    return redirect("customers:detail", pk=customer.pk)


@tenant_required
@require_http_methods(["GET", "POST"])
def release(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_customer_for_user(request.user, pk)
    if customer.owner_id != request.user.pk:
        raise PermissionDenied(_("Only the owner releases a customer to the pool."))
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer_release(acting_user=request.user, customer=customer, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s went back to the pool “%(pool)s”.") % {"name": customer.name, "pool": customer.pool.name},
            )
            return redirect("customers:list")
    return render(
        request, "customers/pool/release.html", {"form": form, "customer": customer}, status=422 if form.errors else 200
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def assign(request: HttpRequest) -> HttpResponse:
    if not request.user.has_any_role(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(_("Only managers and administrators assign pool customers."))
    _raw, wanted = selected_ids(request, limit=200)
    chosen = list(Customer.objects.in_pools_for(request.user).filter(pk__in=wanted).select_related("pool"))
    confirming = request.method == "POST" and "rep" in request.POST
    form = AssignForm(request.POST if confirming else None, user=request.user)
    if confirming and form.is_valid():
        try:
            count = customer_assign(
                acting_user=request.user, customer_ids=[c.pk for c in chosen], rep=form.cleaned_data["rep"]
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("%(count)d customers assigned to %(name)s.")
                % {"count": count, "name": form.cleaned_data["rep"].full_name},
            )
            return redirect("pool:list")
    return render(
        request,
        "customers/pool/assign.html",
        {"form": form, "chosen": chosen, "ids": ",".join(str(c.pk) for c in chosen)},
        status=422 if form.errors else 200,
    )


@tenant_required
def at_risk(request: HttpRequest) -> HttpResponse:
    """My customers (a manager: the team's) that fall back within their pool's warning window, soonest first."""
    user = request.user
    scope = (
        Customer.objects.managed_by(user)
        if user.has_any_role(Role.ADMIN, Role.MANAGER)
        else Customer.objects.visible_to(user).filter(owner=user)
    )
    rows = []
    for pool in pools_with_rules(request.tenant):
        horizon = max(pool.warn_days_before, 1)
        due_ids = fallback_due(pool, days_ahead=horizon).filter(pk__in=scope.values("pk")).values("pk")
        for customer in Customer.objects.filter(pk__in=due_ids).select_related("owner", "level", "pool")[:200]:
            rows.append(customer)
    pending = set(
        ExtensionRequest.objects.filter(customer__in=[c.pk for c in rows], status="pending").values_list(
            "customer_id", flat=True
        )
    )
    asked = set(
        ExtensionRequest.objects.filter(customer__in=[c.pk for c in rows]).values_list("customer_id", "owned_since")
    )
    for c in rows:
        c.extension_pending = c.pk in pending
        c.extension_asked = (c.pk, c.owned_since) in asked
    rows.sort(key=lambda c: c.last_followed_up_at or c.owned_since or timezone.now())
    return render(request, "customers/pool/at_risk.html", {"customers": rows, "request_form": ExtensionRequestForm()})
