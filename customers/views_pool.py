"""Pages of the public pool: the pool list (masked), a pool customer's masked view, claim (htmx), release,
assign, extensions, the at-risk list, and the admins' pool settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import safe_redirect_url
from crm.errors import DomainError
from crm.models import Role
from crm.views import admin_required, apply_domain_error, paginate, tenant_required

from . import pool as pool_services
from .filters import CustomerFilter
from .forms_pool import (
    AssignForm,
    ExtensionRequestForm,
    PoolForm,
    PoolSimulationForm,
    ReleaseForm,
    level_rule_rows,
    save_level_rules,
)
from .models import Contact, Customer, CustomerLevel, ExtensionRequest, OwnershipEvent, Pool
from .normalize import mask_email, mask_phone
from .simulation import overrides_of, simulate
from .views import PAGE_SIZE, CappedPaginator, get_customer_for_user, is_manager_or_admin, selected_ids


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
        c.masked_mobile = mask_phone(c.primary_mobile or "")
        c.masked_email = mask_email(c.primary_email or "")
        c.primary_mobile = c.primary_email = None
        c.days_in_pool = (now - c.pooled_at).days if c.pooled_at else None
        c.pooled_reason_label = reasons.get(c.pooled_reason, "")


def get_pool_customer_for_user(request: HttpRequest, pk: int) -> Customer:
    return get_object_or_404(pool_services.in_pools_for(request.user).select_related("pool", "level"), pk=pk)


@tenant_required
@vary_on_headers("HX-Request")
def pool_list(request: HttpRequest) -> HttpResponse:
    base = pool_services.in_pools_for(request.user).select_related("pool", "level")
    filterset = CustomerFilter(request.GET or None, queryset=base, request=request)
    filterset.filters["pool"].queryset = pool_services.visible_pools(request.user)
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
        "can_assign": is_manager_or_admin(request.user),
        "pools": pool_services.visible_pools(request.user),
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
    customer = get_pool_customer_for_user(request, pk)
    try:
        views_left = pool_services.record_pool_view(user=request.user, customer=customer)
    except pool_services.ClaimRefused as exc:
        messages.error(request, exc.message)
        return redirect("pool:list")
    contacts = list(Contact.objects.filter(customer=customer).order_by("-is_primary", "pk"))
    masked = [
        {
            "name": c.name,
            "title": c.title,
            "mobile": mask_phone(c.mobile),
            "email": mask_email(c.email),
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
        customer = pool_services.customer_claim(rep=request.user, customer_id=pk)
    except Customer.DoesNotExist as exc:
        raise Http404 from exc
    except pool_services.ClaimRefused as exc:
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
    customer = get_customer_for_user(request, pk)
    if customer.owner_id != request.user.pk:
        raise PermissionDenied(_("Only the owner releases a customer to the pool."))
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pool_services.customer_release(
                acting_user=request.user, customer=customer, reason=form.cleaned_data["reason"]
            )
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
    if not is_manager_or_admin(request.user):
        raise PermissionDenied(_("Only managers and administrators assign pool customers."))
    _raw, wanted = selected_ids(request, limit=200)
    chosen = list(pool_services.in_pools_for(request.user).filter(pk__in=wanted).select_related("pool"))
    confirming = request.method == "POST" and "rep" in request.POST
    form = AssignForm(request.POST if confirming else None, user=request.user)
    if confirming and form.is_valid():
        try:
            count = pool_services.customer_assign(
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
        if is_manager_or_admin(user)
        else Customer.objects.visible_to(user).filter(owner=user)
    )
    rows = []
    for pool in pool_services.pools_with_rules(request.tenant):
        horizon = max(pool.warn_days_before, 1)
        due_ids = pool_services.fallback_due(pool, days_ahead=horizon).filter(pk__in=scope.values("pk")).values("pk")
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


@tenant_required
@require_POST
def extension_request(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_customer_for_user(request, pk)
    form = ExtensionRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you need more time."))
    else:
        try:
            pool_services.extension_request(
                acting_user=request.user, customer=customer, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your manager was asked to extend %(name)s.") % {"name": customer.name})
    return redirect(safe_redirect_url(request, request.POST.get("next"), reverse("pool:at_risk")))


@tenant_required
def extensions(request: HttpRequest) -> HttpResponse:
    if not is_manager_or_admin(request.user):
        raise PermissionDenied(_("Only managers and administrators decide extensions."))
    scope = Customer.objects.managed_by(request.user).values("pk")
    qs = (
        ExtensionRequest.objects.for_tenant(request.tenant)
        .filter(customer__in=scope)
        .select_related("customer", "requested_by", "decided_by")
        .order_by("status", "-created_at")
    )
    return render(request, "customers/pool/extensions.html", {"page": paginate(request, qs)})


@tenant_required
@require_POST
def extension_decide(request: HttpRequest, pk: int) -> HttpResponse:
    ext = get_object_or_404(ExtensionRequest.objects.for_tenant(request.tenant).select_related("customer"), pk=pk)
    if not pool_services.can_decide(request.user, ext):
        raise Http404
    try:
        ext = pool_services.extension_decide(
            acting_user=request.user, request=ext, approve=request.POST.get("approve") == "1"
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        ext.error = exc.message
    if request.htmx:
        return render(request, "customers/pool/partials/extension_row.html", {"r": ext})
    return redirect("pool:extensions")


# --- admin settings ------------------------------------------------------------------------------------------


@admin_required
def pool_settings_list(request: HttpRequest) -> HttpResponse:
    pools = list(Pool.objects.for_tenant(request.tenant).prefetch_related("teams").order_by("-is_default", "name"))
    counts = dict(
        Customer.objects.filter(tenant=request.tenant, owner__isnull=True, deleted_at__isnull=True)
        .values_list("pool")
        .annotate(n=Count("pk"))
    )
    for p in pools:
        p.waiting = counts.get(p.pk, 0)
    return render(request, "customers/pool/settings_list.html", {"pools": pools})


def _pool_form_page(request: HttpRequest, pool: Pool | None) -> HttpResponse:
    tenant = request.tenant
    levels = list(CustomerLevel.objects.for_tenant(tenant))
    form = PoolForm(request.POST or None, instance=pool, tenant=tenant)
    rules = level_rule_rows(levels, pool, request.POST if request.method == "POST" else None)
    rule_errors = [r for r in rules if r["error"]]
    if request.method == "POST" and form.is_valid() and not rule_errors:
        try:
            saved = save_level_rules(form=form, rules=rules, acting_user=request.user)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Pool %(name)s saved.") % {"name": saved.name})
            return redirect("pool_settings:list")
    context = {"form": form, "pool": pool, "rules": rules}
    if pool is not None:
        context.update(_simulation_context(pool, levels, request.POST if request.method == "POST" else None))
    return render(
        request,
        "customers/pool/settings_form.html",
        context,
        status=422 if form.errors or rule_errors else 200,
    )


def _simulation_context(pool: Pool, levels, data) -> dict:
    """The simulation of the pool's rules: the saved ones (`data` None) or the values on the screen, unsaved."""
    if data is None:
        return {"sim": simulate(pool), "sim_errors": []}
    form = PoolSimulationForm(data)
    rows = level_rule_rows(levels, pool, data)
    errors = [
        f"{form.fields[name].label}: {' '.join(errs)}" for name, errs in form.errors.items() if name in form.fields
    ]
    errors += [f"{row['level']}: {row['error']}" for row in rows if row["error"]]
    if errors:
        return {"sim": None, "sim_errors": errors}
    level_rules = {
        row["level"].pk: (int(row["followup"]) if row["followup"] else None, int(row["deal"]) if row["deal"] else None)
        for row in rows
    }
    overrides = overrides_of(form.cleaned_data, level_rules)
    return {
        "sim": simulate(pool, overrides=overrides, warn_days_before=form.cleaned_data.get("warn_days_before") or 0),
        "sim_errors": [],
    }


@tenant_required
@require_POST
def pool_settings_simulate(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: re-simulate the pool's rules with the values on the form, without saving anything."""
    pool = get_object_or_404(Pool.objects.for_tenant(request.tenant).select_related("tenant"), pk=pk)
    if not request.user.has_any_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators of this company may open this page."))
    levels = list(CustomerLevel.objects.for_tenant(request.tenant))
    context = {"pool": pool, **_simulation_context(pool, levels, request.POST)}
    return render(request, "customers/pool/partials/simulation.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def pool_settings_create(request: HttpRequest) -> HttpResponse:
    return _pool_form_page(request, None)


@tenant_required
@require_http_methods(["GET", "POST"])
def pool_settings_edit(request: HttpRequest, pk: int) -> HttpResponse:
    # Another tenant's pool is 404 for everyone; then only admins may edit.
    pool = get_object_or_404(Pool.objects.for_tenant(request.tenant), pk=pk)
    if not request.user.has_any_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators of this company may open this page."))
    return _pool_form_page(request, pool)
