"""The recycle bin: deleted customers, restored within 30 days."""

from __future__ import annotations

import math
from datetime import timedelta

from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.errors import DomainError
from crm.forms import SearchForm
from crm.web import paginate, tenant_required
from customers.models import Customer, OwnershipEvent
from customers.services.trash import TRASH_DAYS, customer_restore


@tenant_required
@require_http_methods(["GET"])
def trash(request: HttpRequest) -> HttpResponse:
    merged = OwnershipEvent.objects.filter(customer=OuterRef("pk"), reason=OwnershipEvent.Reason.MERGE)
    qs = (
        Customer.objects.in_trash_for(request.user)
        .select_related("owner", "deleted_by", "pool")
        .annotate(was_merged=Exists(merged))
    )
    query = SearchForm(request.GET).value("q")
    if query:
        qs = qs.filter(name__icontains=query)
    page = paginate(request, qs.order_by("-deleted_at", "-pk"))
    now = timezone.now()
    window = timedelta(days=TRASH_DAYS)
    for customer in page:
        customer.purge_at = customer.deleted_at + window
        customer.days_left = max(0, math.ceil((customer.purge_at - now).total_seconds() / 86400))
    return render(request, "customers/trash.html", {"page": page, "query": query, "trash_days": TRASH_DAYS})


@tenant_required
@require_POST
def restore(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer.objects.in_trash_for(request.user), pk=pk)
    try:
        customer = customer_restore(acting_user=request.user, customer=customer)
    except DomainError as exc:
        # A DuplicateCustomer says which identifier is taken and who holds it now, as far as the user may know.
        messages.error(
            request,
            _("“%(name)s” was not restored: %(reason)s") % {"name": customer.name, "reason": exc.message},
        )
        return redirect("customers:trash")
    messages.success(request, _("“%(name)s” is restored.") % {"name": customer.name})
    if Customer.objects.visible_to(request.user).filter(pk=customer.pk).exists():
        return redirect("customers:detail", pk=customer.pk)
    return redirect("customers:trash")
