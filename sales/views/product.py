"""The product catalogue: the list (everyone reads), a product's form (administrators)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import Role
from crm.registry import registry
from crm.web import PAGE_SIZE, apply_domain_error, form_status, paginate, tenant_required
from sales.access import get_product_for_admin
from sales.filters import ProductFilter
from sales.forms.product import ProductForm
from sales.models import Product, ProductPrice
from sales.services.product import product_save


@tenant_required
@vary_on_headers("HX-Request")
def product_list(request: HttpRequest) -> HttpResponse:
    base = Product.objects.visible_to(request.user).prefetch_related(
        Prefetch(
            "level_prices",
            queryset=ProductPrice.objects.select_related("level").order_by("level__order", "level__code"),
        )
    )
    filterset = ProductFilter(request.GET or None, queryset=base, request=request)
    page = paginate(request, filterset.qs.order_by("code", "pk"), PAGE_SIZE)
    context = {
        "filter": filterset,
        "page": page,
        "products": list(page),
        "can_edit": request.user.has_any_role(Role.ADMIN),
        "import_kinds": registry.import_kinds_for(request.user, menu="products"),
    }
    template = (
        "sales/products/results.html" if request.htmx and not request.htmx.boosted else "sales/products/list.html"
    )
    return render(request, template, context)


@tenant_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    # Another tenant's id is 404 for everyone; then only administrators go on (403).
    product = get_product_for_admin(request.user, pk) if pk is not None else None
    require_admin(request.user)
    form = ProductForm(request.POST or None, instance=product, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            product_save(
                acting_user=request.user, data=form.cleaned_data, product=product, level_prices=form.level_prices()
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Product saved."))
            return redirect("sales:product_list")
    return render(request, "sales/products/form.html", {"form": form, "product": product}, status=form_status(form))
