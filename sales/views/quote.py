"""Quotes: the list, a new quote from an opportunity, a draft's form, the page with its actions (ask for approval,
send, accepted or declined, revise) and the customer's PDF."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.approvals.models import ApprovalRequest
from crm.errors import DomainError
from crm.web import PAGE_SIZE, admin_required, apply_domain_error, domain_action, form_status, paginate, tenant_required
from crm.workcalendar.selectors import local_today
from sales.access import can_change_opportunity, get_opportunity_for_user, get_quote_for_user, require_sales
from sales.filters import QuoteFilter
from sales.forms.contract import ContractFromQuoteForm
from sales.forms.quote import QuoteCloseForm, QuoteForm, QuoteLineFormSet, QuoteSettingsForm
from sales.models import Contract, Product, Quote, QuoteLine, QuoteStatus
from sales.pdf import quote_filename, quote_pdf
from sales.services.contract import contract_create_from_quote
from sales.services.quote import (
    QUOTE_KIND,
    REVISABLE,
    QuoteLineInput,
    quote_close,
    quote_create,
    quote_needs_approval,
    quote_revise,
    quote_send,
    quote_settings,
    quote_settings_save,
    quote_submit,
    quote_update,
)


@tenant_required
@vary_on_headers("HX-Request")
def quote_list(request: HttpRequest) -> HttpResponse:
    require_sales(request.user)
    base = Quote.objects.visible_to(request.user).select_related("customer", "owner", "opportunity")
    filterset = QuoteFilter(request.GET or None, queryset=base, request=request)
    page = paginate(request, filterset.qs, PAGE_SIZE)
    context = {"filter": filterset, "page": page, "quotes": list(page)}
    template = "sales/quotes/results.html" if request.htmx and not request.htmx.boosted else "sales/quotes/list.html"
    return render(request, template, context)


def _line_inputs(lines) -> list[QuoteLineInput]:
    return [
        QuoteLineInput(
            product=f.cleaned_data.get("product"),
            name=f.cleaned_data.get("name") or "",
            quantity=f.cleaned_data.get("quantity"),
            unit_price=f.cleaned_data.get("unit_price"),
            discount_pct=f.cleaned_data.get("discount_pct") or 0,
            tax_rate=f.cleaned_data.get("tax_rate"),
        )
        for f in lines.forms
        if not f.is_blank
    ]


def _quote_form(request: HttpRequest, *, opportunity, quote: Quote | None) -> HttpResponse:
    products = Product.objects.visible_to(request.user).active().order_by("code")
    if quote is None:
        initial, line_initial = {"currency": opportunity.currency}, None
    else:
        initial = {"currency": quote.currency, "valid_until": quote.valid_until, "terms": quote.terms}
        line_initial = [
            {
                "product": line.product_id,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount_pct": line.discount_pct,
                "tax_rate": line.tax_rate,
            }
            for line in QuoteLine.objects.filter(quote=quote).order_by("position", "pk")
        ]
        # Products no longer sold stay choosable on the lines that have them.
        products = Product.objects.visible_to(request.user).filter(
            pk__in=[
                *products.values_list("pk", flat=True),
                *(line["product"] for line in line_initial if line["product"]),
            ]
        )
    form = QuoteForm(request.POST or None, user=request.user, initial=initial)
    lines = QuoteLineFormSet(request.POST or None, prefix="lines", products=products, initial=line_initial)
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            if quote is None:
                quote = quote_create(
                    acting_user=request.user,
                    opportunity=opportunity,
                    lines=_line_inputs(lines),
                    currency=data["currency"],
                    valid_until=data["valid_until"],
                    terms=data["terms"] or None,
                )
            else:
                quote = quote_update(
                    acting_user=request.user,
                    quote=quote,
                    lines=_line_inputs(lines),
                    currency=data["currency"],
                    valid_until=data["valid_until"] or quote.valid_until,
                    terms=data["terms"],
                )
        except DomainError as exc:
            if exc.field == "lines":
                form.add_error(None, exc.message)
            else:
                apply_domain_error(form, exc)
        else:
            messages.success(request, _("Quote saved."))
            return redirect("sales:quote_detail", pk=quote.pk)
    has_errors = bool(form.errors) or (lines.is_bound and not lines.is_valid())
    return render(
        request,
        "sales/quotes/form.html",
        {"form": form, "lines": lines, "opportunity": opportunity, "quote": quote},
        status=422 if has_errors else 200,
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def quote_create_view(request: HttpRequest, opportunity_pk: int) -> HttpResponse:
    opportunity = get_opportunity_for_user(request.user, opportunity_pk)
    return _quote_form(request, opportunity=opportunity, quote=None)


@tenant_required
@require_http_methods(["GET", "POST"])
def quote_edit(request: HttpRequest, pk: int) -> HttpResponse:
    quote = get_quote_for_user(request.user, pk)
    if not quote.is_editable:
        messages.error(request, _("Only a draft quote can be changed; revise it to make a new version."))
        return redirect("sales:quote_detail", pk=quote.pk)
    return _quote_form(request, opportunity=quote.opportunity, quote=quote)


def _a_year_from(day: dt.date) -> dt.date:
    """The last day of a one-year term starting on `day` (29 February: 28 February of the next year)."""
    try:
        return day.replace(year=day.year + 1) - dt.timedelta(days=1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


@tenant_required
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    quote = get_quote_for_user(request.user, pk)
    lines = list(QuoteLine.objects.filter(quote=quote).select_related("product").order_by("position", "pk"))
    approvals = list(
        ApprovalRequest.objects.visible_to(request.user)
        .filter(kind=QUOTE_KIND, object_id=quote.pk)
        .select_related("requested_by", "decided_by")
        .prefetch_related(Prefetch("steps"))
        .order_by("-created_at")
    )
    versions = list(
        Quote.objects.visible_to(request.user).filter(number=quote.number).order_by("version").only("pk", "version")
    )
    can_change = can_change_opportunity(request.user, quote.opportunity)
    contract = Contract.objects.visible_to(request.user).filter(quote=quote).only("pk", "number").first()
    today = local_today(request.tenant)
    # The accepted quote offers its contract, prefilled: its opportunity's name, a year from today.
    contract_form = ContractFromQuoteForm(
        initial={
            "title": quote.opportunity.name,
            "starts_on": today,
            "ends_on": _a_year_from(today),
        }
    )
    return render(
        request,
        "sales/quotes/detail.html",
        {
            "quote": quote,
            "lines": lines,
            "approvals": approvals,
            "versions": versions,
            "can_change": can_change,
            "needs_approval": quote.status == QuoteStatus.DRAFT and quote_needs_approval(quote),
            "expired": quote.valid_until < local_today(request.tenant),
            "contract": contract,
            "contract_form": contract_form,
            "revisable": quote.status in REVISABLE,
        },
    )


def _act(request: HttpRequest, pk: int, action, success: str) -> HttpResponse:
    quote = get_quote_for_user(request.user, pk)
    return domain_action(
        request,
        lambda: action(quote),
        success=success,
        then=lambda result: reverse("sales:quote_detail", kwargs={"pk": result.pk}),
        on_error=reverse("sales:quote_detail", kwargs={"pk": quote.pk}),
    )


@tenant_required
@require_POST
def quote_submit_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk, lambda q: quote_submit(acting_user=request.user, quote=q), _("The quote was sent for approval.")
    )


@tenant_required
@require_POST
def quote_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda q: quote_send(acting_user=request.user, quote=q), _("The quote is marked sent."))


@tenant_required
@require_POST
def quote_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = QuoteCloseForm(request.POST)
    if not form.is_valid():
        quote = get_quote_for_user(request.user, pk)
        messages.error(request, _("Say whether the customer accepted or declined the quote."))
        return redirect("sales:quote_detail", pk=quote.pk)
    accepted = form.cleaned_data["outcome"] == "accepted"
    response = _act(
        request,
        pk,
        lambda q: quote_close(acting_user=request.user, quote=q, accepted=accepted),
        _("The quote is marked accepted.") if accepted else _("The quote is marked declined."),
    )
    if not (accepted and form.cleaned_data["contract"]):
        return response
    quote = get_quote_for_user(request.user, pk)
    if quote.status != QuoteStatus.ACCEPTED:
        return response
    # One click from the customer's yes to the draft contract, prefilled from the quote.
    return domain_action(
        request,
        lambda: contract_create_from_quote(acting_user=request.user, quote=quote),
        success=_("Contract drafted from the quote."),
        then=lambda contract: reverse("sales:contract_detail", kwargs={"pk": contract.pk}),
        on_error=response,
    )


@tenant_required
@require_POST
def quote_revise_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request, pk, lambda q: quote_revise(acting_user=request.user, quote=q), _("A new version of the quote.")
    )


@tenant_required
def quote_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    quote = get_quote_for_user(request.user, pk)
    response = HttpResponse(quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{quote_filename(quote)}"'
    return response


@admin_required
@require_http_methods(["GET", "POST"])
def quote_settings_view(request: HttpRequest) -> HttpResponse:
    settings = quote_settings(request.tenant.pk)
    form = QuoteSettingsForm(request.POST or None, instance=settings)
    if request.method == "POST" and form.is_valid():
        try:
            quote_settings_save(acting_user=request.user, data=form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Quote settings saved."))
            return redirect("sales:quote_settings")
    return render(request, "sales/quotes/settings.html", {"form": form}, status=form_status(form))
