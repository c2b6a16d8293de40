"""Sharing a customer with a colleague."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.models import User
from crm.web import domain_action, tenant_required
from customers.access import get_customer_for_user
from customers.forms.share import ShareForm
from customers.services.share import customer_share, customer_unshare


@tenant_required
@require_POST
def customer_share_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_customer_for_user(request.user, pk)
    form = ShareForm(request.POST, customer=customer)
    if form.is_valid():
        return domain_action(
            request,
            lambda: customer_share(
                acting_user=request.user,
                customer=customer,
                with_user=form.cleaned_data["user"],
                can_change=form.cleaned_data["can_change"],
            ),
            success=_("Shared with %(name)s.") % {"name": form.cleaned_data["user"].full_name},
            then=reverse("customers:detail", kwargs={"pk": customer.pk}),
        )
    else:
        messages.error(request, _("Choose a colleague of your company."))
    return redirect("customers:detail", pk=customer.pk)


@tenant_required
@require_POST
def customer_unshare_view(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    customer = get_customer_for_user(request.user, pk)

    colleague = get_object_or_404(User.objects.for_tenant(request.tenant), pk=user_pk)
    customer_unshare(acting_user=request.user, customer=customer, with_user=colleague)
    messages.success(request, _("No longer shared with %(name)s.") % {"name": colleague.full_name})
    return redirect("customers:detail", pk=customer.pk)
