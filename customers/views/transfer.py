"""Bulk actions on customers: transfer to another rep, change home pool."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.errors import DomainError
from crm.models import Role
from crm.web import apply_domain_error, selected_ids, tenant_required
from customers.forms.transfer import MovePoolForm, TransferForm
from customers.models import Customer
from customers.services.pool import move_to_pool
from customers.services.transfer import customer_transfer


@tenant_required
@require_http_methods(["GET", "POST"])
def customer_transfer_view(request: HttpRequest) -> HttpResponse:
    """Transfer one or many customers (ids from the list's checkboxes or the detail page) to another rep."""
    if not request.user.has_any_role(Role.ADMIN, Role.MANAGER):
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
                moved = customer_transfer(
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


@tenant_required
@require_http_methods(["GET", "POST"])
def customer_move_pool(request: HttpRequest) -> HttpResponse:
    """Admins change the home pool of one or many customers (its rules then govern them and they return there)."""

    if not request.user.has_any_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators move customers between pools."))
    _raw, wanted = selected_ids(request)
    chosen = list(Customer.objects.visible_to(request.user).filter(pk__in=wanted).select_related("pool", "owner"))
    confirming = request.method == "POST" and "pool" in request.POST
    form = MovePoolForm(request.POST if confirming else None, tenant=request.tenant)
    if confirming and form.is_valid() and chosen:
        moved = move_to_pool(
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
