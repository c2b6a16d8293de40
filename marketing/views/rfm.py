"""The RFM page (`/segments/rfm/`): customers and amounts per named cell, each a link to the customer list filtered
to it; "recompute now" (managers, admins) and the window (admins)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.access import is_sales_user
from crm.models import Role
from crm.web import domain_action, tenant_required
from marketing.access import can_manage_care
from marketing.selectors.rfm import rfm_grid
from marketing.services.rfm import MAX_WINDOW, MIN_WINDOW, rfm_recompute_request, rfm_settings_for, rfm_settings_save


class WindowForm(forms.Form):
    window_months = forms.IntegerField(
        label=gettext_lazy("Window (months)"), min_value=MIN_WINDOW, max_value=MAX_WINDOW
    )


@tenant_required
def rfm_page(request: HttpRequest) -> HttpResponse:
    if not is_sales_user(request.user):
        raise PermissionDenied
    settings = rfm_settings_for(request.tenant)
    context = {
        "cells": rfm_grid(request.user),
        "settings": settings,
        "can_recompute": can_manage_care(request.user),
        "window_form": WindowForm(initial={"window_months": settings.window_months})
        if request.user.has_any_role(Role.ADMIN)
        else None,
    }
    return render(request, "marketing/rfm/grid.html", context)


@tenant_required
@require_POST
def rfm_recompute(request: HttpRequest) -> HttpResponse:
    return domain_action(
        request,
        lambda: rfm_recompute_request(acting_user=request.user),
        success=_("The scores are being recomputed; reload the page in a moment."),
        then="marketing:rfm",
    )


@tenant_required
@require_POST
def rfm_window(request: HttpRequest) -> HttpResponse:
    if not request.user.has_any_role(Role.ADMIN):
        raise PermissionDenied
    form = WindowForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Between %(min)d and %(max)d months.") % {"min": MIN_WINDOW, "max": MAX_WINDOW})
        return redirect("marketing:rfm")
    return domain_action(
        request,
        lambda: rfm_settings_save(acting_user=request.user, window_months=form.cleaned_data["window_months"]),
        success=_("Window saved; the scores are being recomputed."),
        then="marketing:rfm",
    )
