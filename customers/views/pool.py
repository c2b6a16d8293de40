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
from customers.models import Contact, Customer, OwnershipEvent, Pool
from customers.normalize import format_phone, mask
from customers.selectors.pool import claims_left, fallback_due, mark_extension_state, pools_with_rules
from customers.selectors.view_quota import views_left
from customers.services.pool import (
    ClaimRefused,
    customer_assign,
    customer_claim,
    customers_release,
    record_pool_view,
    releasable_pools,
)


def _last_event_annotations():
    last = OwnershipEvent.objects.filter(customer=OuterRef("pk")).order_by("-at", "-pk")
    primary = Contact.objects.filter(customer=OuterRef("pk")).order_by("-is_primary", "pk")
    return {
        # When it came to the pool is stored (Customer.pooled_at); why, the latest event says.
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
    pools = list(Pool.objects.visible_to(request.user))
    base = Customer.objects.in_pools_for(request.user, pools=pools).select_related("pool", "level")
    filterset = PoolCustomerFilter(request.GET or None, queryset=base, request=request)
    filterset.filters["pool"].queryset = Pool.objects.visible_to(request.user)
    filtered = filterset.qs
    page = CappedPaginator(filtered.annotate(**_last_event_annotations()), PAGE_SIZE, count_queryset=filtered).get_page(
        request.GET.get("page")
    )
    customers = list(page)
    _decorate(customers)
    left = claims_left(request.user, pools)
    used_up = {c.pool.pk for c in left if c.left == 0}
    for c in customers:
        c.claims_used_up = c.pool_id in used_up
    context = {
        "filter": filterset,
        "page": page,
        "customers": customers,
        "can_assign": request.user.has_any_role(Role.ADMIN, Role.MANAGER),
        "pools": pools,
        "claims_left": left,
        # Openings left today under the person's quota and per pool, shown before any customer is opened.
        "views": views_left(request.user, pools),
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
        left_here = record_pool_view(user=request.user, customer=customer)
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
        {
            "customer": customer,
            "contacts": masked,
            "views_left": left_here,
            "views": views_left(request.user, [customer.pool]),
            "p": {"events": events},
            "claims_left": claims_left(request.user, [customer.pool]),
        },
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
        # The row shows the phone at once (now the rep's customer); the counter of claims left is swapped too.
        primary = Contact.objects.filter(customer=customer).order_by("-is_primary", "pk").first()
        context = {
            "customer": customer,
            "pk": pk,
            "primary": primary,
            "primary_mobile_display": format_phone(primary.mobile) if primary else "",
            "claims_left": claims_left(request.user, list(Pool.objects.visible_to(request.user))),
            "oob": True,
        }
        return render(request, "customers/pool/partials/claim_result.html", context)
    messages.success(request, _("%(name)s is now yours.") % {"name": customer.name})
    return redirect("customers:detail", pk=customer.pk)


@tenant_required
@require_http_methods(["GET", "POST"])
def release(request: HttpRequest, pk: int) -> HttpResponse:
    """Release one of one's customers: choose the pool (its home pool preselected) and say why; then back to the
    list, never to a record the rep may no longer see."""
    customer = get_customer_for_user(request.user, pk)
    if customer.owner_id != request.user.pk:
        raise PermissionDenied(_("Only the owner releases a customer to the pool."))
    return _release_page(request, [customer], single=True)


@tenant_required
@require_http_methods(["GET", "POST"])
def release_bulk(request: HttpRequest) -> HttpResponse:
    """Release the checked customers of the list: only the rep's own are taken (others' ids are ignored)."""
    require_sales_user(request.user)
    _raw, wanted = selected_ids(request)
    chosen = list(
        Customer.objects.filter(
            tenant_id=request.tenant.pk, owner=request.user, deleted_at__isnull=True, pk__in=wanted
        ).select_related("pool")[:500]
    )
    if not chosen:
        messages.info(request, _("Check the customers of yours to release."))
        return redirect("customers:list")
    return _release_page(request, chosen, single=False)


def _release_page(request: HttpRequest, chosen: list[Customer], *, single: bool) -> HttpResponse:
    home_pools = {c.pool_id for c in chosen}
    pools = releasable_pools(request.user, home_pools).order_by("-is_default", "name")
    home = chosen[0].pool if len(home_pools) == 1 else None
    confirming = request.method == "POST" and ("reason_choice" in request.POST or "reason" in request.POST)
    form = ReleaseForm(request.POST if confirming else None, pools=pools, home_pool=home)
    if confirming and form.is_valid():
        pool = form.cleaned_data.get("pool")
        try:
            released = customers_release(
                acting_user=request.user,
                customer_ids=[c.pk for c in chosen],
                reason=form.release_reason(),
                pool=pool if pool is not None and (home is None or pool.pk != home.pk) else None,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if single:
                text = _("%(name)s went back to the pool “%(pool)s”.") % {
                    "name": chosen[0].name,
                    "pool": (pool or chosen[0].pool).name,
                }
            else:
                text = _("%(count)d customers went back to the pool.") % {"count": released}
            messages.success(request, text)
            return redirect("customers:list")
    context = {
        "form": form,
        "customer": chosen[0] if single else None,
        "chosen": chosen,
        "ids": ",".join(str(c.pk) for c in chosen),
    }
    return render(request, "customers/pool/release.html", context, status=422 if form.errors else 200)


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
        rows += list(Customer.objects.filter(pk__in=due_ids).select_related("owner", "level", "pool")[:200])
    mark_extension_state(rows)
    # Soonest first: the day the job will take it back, as the job's own predicate computes it.
    rows.sort(key=lambda c: (c.fallback_at or timezone.now(), c.pk))
    return render(request, "customers/pool/at_risk.html", {"customers": rows, "request_form": ExtensionRequestForm()})
