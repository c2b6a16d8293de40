"""Settings → Exchange rates (admins): each currency's monthly rate to the company's currency, set one at a time or
pasted from a spreadsheet; reports and campaign figures convert with them."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access import require_admin
from crm.errors import DomainError
from crm.forms import ExchangeRateForm, ExchangeRateImportForm
from crm.models import ExchangeRate
from crm.services.exchange_rate import exchange_rate_delete, exchange_rate_save, exchange_rates_import
from crm.web import admin_required, apply_domain_error, form_status, tenant_required


@admin_required
def exchange_rates_view(request: HttpRequest) -> HttpResponse:
    posted = request.POST if request.method == "POST" else None
    importing = posted is not None and "text" in posted
    form = ExchangeRateForm(None if importing else posted, tenant=request.tenant)
    paste = ExchangeRateImportForm(posted if importing else None)
    bound = paste if importing else form
    if posted is not None and bound.is_valid():
        try:
            if importing:
                count = exchange_rates_import(acting_user=request.user, text=paste.cleaned_data["text"])
                messages.success(request, _("%(n)d rates set.") % {"n": count})
            else:
                exchange_rate_save(acting_user=request.user, **form.cleaned_data)
                messages.success(request, _("The rate is set."))
        except DomainError as error:
            apply_domain_error(bound, error)
        else:
            return redirect("settings:exchange_rates")
    rates = ExchangeRate.objects.for_tenant(request.tenant).order_by("currency", "-month")[:500]
    context = {"form": form, "paste": paste, "rates": rates, "home": request.tenant.currency}
    return render(request, "crm/settings/exchange_rates.html", context, status=form_status(bound))


@tenant_required
@require_POST
def exchange_rate_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    rate = ExchangeRate.objects.for_tenant(request.tenant).filter(pk=pk).first()
    if rate is None:
        raise Http404
    require_admin(request.user)
    exchange_rate_delete(acting_user=request.user, rate=rate)
    messages.success(request, _("The rate is removed."))
    return redirect("settings:exchange_rates")
