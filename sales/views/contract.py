"""Contracts: the list, one made from an accepted quote, the page (approval, status, payment plan, receipts)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.approvals.models import ApprovalRequest
from crm.errors import DomainError
from crm.web import PAGE_SIZE, apply_domain_error, domain_action, form_status, paginate, tenant_required
from crm.workcalendar.selectors import local_today
from customers.models import Customer
from sales.access import get_attachment_for_user, get_contract_for_user, get_quote_for_user, require_sales
from sales.filters import ContractFilter
from sales.forms.contract import (
    AttachmentForm,
    ContractEditForm,
    ContractFromQuoteForm,
    ContractStatusForm,
    InstalmentFormSet,
    ReceiptForm,
)
from sales.models import Contract, ContractAttachment, ContractStatus, Instalment, Receipt
from sales.pdf import contract_filename, contract_pdf
from sales.services.contract import (
    CONTRACT_KIND,
    EDITABLE,
    TRANSITIONS,
    can_change_contract,
    contract_attach,
    contract_create_from_quote,
    contract_set_status,
    contract_submit,
    contract_update,
)
from sales.services.payment import contract_money, payment_plan_save, receipt_record


@tenant_required
@vary_on_headers("HX-Request")
def contract_list(request: HttpRequest) -> HttpResponse:
    require_sales(request.user)
    base = Contract.objects.visible_to(request.user).select_related("customer", "owner")
    filterset = ContractFilter(request.GET or None, queryset=base, request=request)
    page = paginate(request, filterset.qs, PAGE_SIZE)
    context = {"filter": filterset, "page": page, "contracts": list(page)}
    template = (
        "sales/contracts/results.html" if request.htmx and not request.htmx.boosted else "sales/contracts/list.html"
    )
    return render(request, template, context)


@tenant_required
@require_POST
def contract_from_quote(request: HttpRequest, pk: int) -> HttpResponse:
    quote = get_quote_for_user(request.user, pk)
    form = ContractFromQuoteForm(request.POST)
    form.is_valid()
    return domain_action(
        request,
        lambda: contract_create_from_quote(
            acting_user=request.user,
            quote=quote,
            starts_on=form.cleaned_data.get("starts_on"),
            ends_on=form.cleaned_data.get("ends_on"),
            title=form.cleaned_data.get("title") or "",
        ),
        success=_("Contract drafted from the quote."),
        then=lambda contract: reverse("sales:contract_detail", kwargs={"pk": contract.pk}),
        on_error=reverse("sales:quote_detail", kwargs={"pk": quote.pk}),
    )


def _page(request: HttpRequest, contract: Contract, *, plan=None, receipt=None, status: int = 200) -> HttpResponse:
    instalments = list(Instalment.objects.filter(contract=contract).order_by("position"))
    can_change = can_change_contract(request.user, contract)
    if plan is None:
        plan = InstalmentFormSet(
            prefix="plan", initial=[{"due_on": i.due_on, "amount": i.amount} for i in instalments] or None
        )
    today = local_today(request.tenant)
    approvals = list(
        ApprovalRequest.objects.visible_to(request.user)
        .filter(kind=CONTRACT_KIND, object_id=contract.pk)
        .select_related("requested_by", "decided_by")
        .prefetch_related(Prefetch("steps"))
    )
    return render(
        request,
        "sales/contracts/detail.html",
        {
            "contract": contract,
            "instalments": instalments,
            "overdue_ids": {i.pk for i in instalments if i.due_on < today and i.outstanding > 0},
            "receipts": list(Receipt.objects.filter(contract=contract).select_related("recorded_by")),
            "attachments": list(ContractAttachment.objects.filter(contract=contract)),
            "sees_files": Customer.objects.visible_to(request.user).filter(pk=contract.customer_id).exists(),
            "attachment_form": AttachmentForm(),
            "money": contract_money(contract),
            "approvals": approvals,
            "can_change": can_change,
            "editable": can_change and contract.status in EDITABLE,
            "next_statuses": [s for s in TRANSITIONS.get(contract.status, ())],
            "status_form": ContractStatusForm(initial={"signed_on": today}),
            "plan": plan,
            "receipt_form": receipt or ReceiptForm(initial={"received_on": today}),
        },
        status=status,
    )


@tenant_required
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, get_contract_for_user(request.user, pk))


def _act(request: HttpRequest, contract: Contract, action, success: str) -> HttpResponse:
    return domain_action(
        request,
        lambda: action(),
        success=success,
        then=reverse("sales:contract_detail", kwargs={"pk": contract.pk}),
    )


@tenant_required
@require_POST
def contract_submit_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_contract_for_user(request.user, pk)
    return _act(
        request,
        contract,
        lambda: contract_submit(acting_user=request.user, contract=contract),
        _("The contract was sent for approval."),
    )


@tenant_required
@require_POST
def contract_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_contract_for_user(request.user, pk)
    form = ContractStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what happened to the contract."))
        return redirect("sales:contract_detail", pk=contract.pk)
    return _act(
        request,
        contract,
        lambda: contract_set_status(
            acting_user=request.user,
            contract=contract,
            status=form.cleaned_data["status"],
            signed_on=form.cleaned_data["signed_on"],
        ),
        _("Contract updated."),
    )


@tenant_required
@require_POST
def contract_plan(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_contract_for_user(request.user, pk)
    plan = InstalmentFormSet(request.POST, prefix="plan")
    if plan.is_valid():
        rows = [(f.cleaned_data["due_on"], f.cleaned_data["amount"]) for f in plan.forms if not f.is_blank]
        try:
            payment_plan_save(acting_user=request.user, contract=contract, instalments=rows)
        except DomainError as exc:
            plan._non_form_errors = plan.error_class([exc.message])
        else:
            messages.success(request, _("Payment plan saved."))
            return redirect("sales:contract_detail", pk=contract.pk)
    return _page(request, contract, plan=plan, status=422)


@tenant_required
@require_POST
def contract_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_contract_for_user(request.user, pk)
    form = ReceiptForm(request.POST)
    if form.is_valid():
        try:
            receipt_record(acting_user=request.user, contract=contract, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Receipt recorded."))
            return redirect("sales:contract_detail", pk=contract.pk)
    return _page(request, contract, receipt=form, status=422)


@tenant_required
@require_POST
def contract_attach_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_contract_for_user(request.user, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a file."))
        return redirect("sales:contract_detail", pk=contract.pk)
    return _act(
        request,
        contract,
        lambda: contract_attach(acting_user=request.user, contract=contract, upload=form.cleaned_data["file"]),
        _("File attached."),
    )


@tenant_required
def contract_attachment(request: HttpRequest, pk: int) -> FileResponse:
    """A contract's file, only to those who may see the contract's customer (404 otherwise)."""
    attachment = get_attachment_for_user(request.user, pk)
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )


@tenant_required
def contract_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The contract's summary sheet as a PDF (the company's logo on top), to whoever sees the contract."""
    contract = get_contract_for_user(request.user, pk)
    response = HttpResponse(contract_pdf(contract), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{contract_filename(contract)}"'
    return response


@tenant_required
@require_http_methods(["GET", "POST"])
def contract_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the title, amount and dates of a contract not yet signed (a new amount asks for approval again)."""
    contract = get_contract_for_user(request.user, pk)
    if not can_change_contract(request.user, contract):
        raise PermissionDenied
    initial = {k: getattr(contract, k) for k in ("title", "amount", "starts_on", "ends_on")}
    form = ContractEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            updated = contract_update(
                acting_user=request.user,
                contract=contract,
                title=data["title"],
                amount=data["amount"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                drop_plan=data["drop_plan"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if updated.status == ContractStatus.PENDING and data["amount"] != contract.amount:
                messages.success(request, _("Contract saved; the new amount is asked for approval again."))
            else:
                messages.success(request, _("Contract saved."))
            return redirect("sales:contract_detail", pk=contract.pk)
    return render(
        request,
        "sales/contracts/form.html",
        {"form": form, "contract": contract, "editable": contract.status in EDITABLE},
        status=form_status(form),
    )
