"""Orders: the list with totals, record one, detail, void."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.web import PAGE_SIZE, apply_domain_error, domain_action, next_url, paginate, tenant_required
from customers.models import Customer
from sales.access import can_edit_customer, get_order_for_user
from sales.filters import OrderFilter
from sales.forms.fields import CustomerParamForm
from sales.forms.order import OrderForm, OrderLineFormSet, OrderVoidForm
from sales.models import (
    Opportunity,
    Order,
    OrderLine,
    OrderStatus,
    Product,
)
from sales.services.order import order_approval, order_create, order_void


@tenant_required
@vary_on_headers("HX-Request")
def order_list(request: HttpRequest) -> HttpResponse:
    base = Order.objects.visible_to(request.user).select_related("customer", "created_by")
    filterset = OrderFilter(request.GET or None, queryset=base, request=request)
    qs = filterset.qs
    page = paginate(request, qs, PAGE_SIZE)
    # The totals are of the orders that count (not void, not waiting for or refused approval) among those listed.
    totals = list(
        qs.counted().order_by().values("currency").annotate(total=Sum("amount"), count=Count("pk")).order_by("currency")
    )
    context = {"filter": filterset, "page": page, "orders": list(page), "totals": totals}
    template = (
        "sales/partials/order_results.html" if request.htmx and not request.htmx.boosted else "sales/order_list.html"
    )
    return render(request, template, context)


@tenant_required
@require_http_methods(["GET", "POST"])
def order_create_view(request: HttpRequest) -> HttpResponse:
    customer = CustomerParamForm(request.GET, queryset=Customer.objects.editable_by(request.user)).value("customer")
    initial = {"customer": customer, "ordered_on": timezone.localdate(), "currency": request.tenant.currency}
    form = OrderForm(request.POST or None, user=request.user, initial=initial)
    lines = OrderLineFormSet(
        request.POST or None,
        prefix="lines",
        products=Product.objects.visible_to(request.user).active().order_by("code"),
    )
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        product_lines = [f.line() for f in lines.forms if not f.is_blank]
        try:
            order = order_create(
                acting_user=request.user,
                customer=data["customer"],
                ordered_on=data["ordered_on"],
                currency=data["currency"],
                amount=data["amount"],
                lines=product_lines,
                items_text=data["items_text"],
                reference=data["reference"],
                notes=data["notes"],
                extension_data=form.extension_data(),
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if order.status == OrderStatus.AWAITING:
                messages.warning(
                    request, _("Order recorded. Its discount needs approval: it counts once it is approved.")
                )
            else:
                messages.success(request, _("Order recorded."))
            return redirect(next_url(request, reverse("sales:order_detail", args=[order.pk])))
    has_errors = bool(form.errors) or (lines.is_bound and not lines.is_valid())
    return render(
        request,
        "sales/order_form.html",
        {"form": form, "lines": lines, "next": next_url(request, "")},
        status=422 if has_errors else 200,
    )


@tenant_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_order_for_user(request.user, pk)
    lines = list(OrderLine.objects.filter(order=order).order_by("position", "pk"))
    can_void = not order.is_void and can_edit_customer(request, order.customer)
    # The opportunity whose winning recorded it, if the user may see that opportunity.
    won = Opportunity.objects.visible_to(request.user).filter(order=order).only("pk", "name").first()
    context = {
        "order": order,
        "lines": lines,
        "void_form": OrderVoidForm() if can_void else None,
        "won_opportunity": won,
        "approval": order_approval(order),
    }
    return render(request, "sales/order_detail.html", context)


@tenant_required
@require_POST
def order_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_order_for_user(request.user, pk)
    form = OrderVoidForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the order is void."))
        return redirect("sales:order_detail", pk=order.pk)
    return domain_action(
        request,
        lambda: order_void(acting_user=request.user, order=order, reason=form.cleaned_data["reason"]),
        success=_("Order voided."),
        then=reverse("sales:order_detail", kwargs={"pk": order.pk}),
    )
