"""Follow-ups: log one on a customer, the list, correct one."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.models import Role
from crm.web import PAGE_SIZE, CappedIdPaginator, CappedPaginator, apply_domain_error, form_status, tenant_required
from customers.access import get_customer_for_user
from sales.access import can_edit_customer, followup_editable_by, get_follow_up_for_user
from sales.filters import FollowUpFilter
from sales.forms.followup import FollowUpForm
from sales.models import (
    FollowUp,
)
from sales.services.followup import NextTask, followup_log, followup_update
from sales.widgets import followup_panel_context, upcoming_panel_context


@tenant_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def followup_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """Log a follow-up from the customer page (htmx: the panel is swapped in place, with the profile's "last
    follow-up" and the upcoming tasks updated out of band), or as a page without JavaScript."""
    customer = get_customer_for_user(request.user, customer_pk)
    if request.method == "GET":
        return render(request, "sales/partials/followup_panel.html", {"p": followup_panel_context(request, customer)})
    if not can_edit_customer(request, customer):
        raise PermissionDenied(_("You may see this customer but not change it."))
    form = FollowUpForm(request.POST, customer=customer)
    if form.is_valid():
        data = form.cleaned_data
        next_task = None
        if data.get("create_next_task"):
            next_task = NextTask(
                title=data["next_task_title"] or data["next_step"],
                due_at=data["next_task_due_at"],
                remind_at=data["next_task_remind_at"],
            )
        try:
            followup_log(
                acting_user=request.user,
                customer=customer,
                kind=data["kind"],
                content=data["content"],
                outcome=data["outcome"],
                happened_at=data["happened_at"],
                contact=data["contact"],
                next_step=data["next_step"],
                next_task=next_task,
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if not request.htmx:
                messages.success(request, _("Follow-up logged."))
                return redirect("customers:detail", pk=customer.pk)
            customer = get_customer_for_user(request.user, customer_pk)
            return render(
                request,
                "sales/partials/followup_logged.html",
                {
                    "p": followup_panel_context(request, customer),
                    "upcoming": upcoming_panel_context(request, customer),
                    "customer": customer,
                    "logged": True,
                },
            )
    if request.htmx:
        return render(
            request,
            "sales/partials/followup_panel.html",
            {"p": followup_panel_context(request, customer, form)},
            status=422,
        )
    return render(
        request, "sales/followup_form.html", {"form": form, "customer": customer, "creating": True}, status=422
    )


@tenant_required
@vary_on_headers("HX-Request")
def followup_list(request: HttpRequest) -> HttpResponse:
    filterset = FollowUpFilter(request.GET or None, queryset=FollowUp.objects.visible_to(request.user), request=request)
    # Counted up to COUNT_CAP: an exact count of a big tenant's follow-ups reads them all. The page is chosen over
    # the follow-ups alone (their ids, sorted), then only its rows are joined to their customer, author, contact
    # and lead: joining first would join every visible follow-up before the sort (80,000 for a manager). The count
    # and the page come from one read of the first ids where visibility is set-based (everyone but an admin): each
    # would otherwise build the visible follow-ups' bitmap again. An admin's visibility is a probe per row, which a
    # page of 50 stops early and the count reads in the table's order: two cheap queries, not one of 10,001 rows
    # walked in date order.
    ordered = filterset.qs.order_by("-happened_at", "-pk").values_list("pk", flat=True)
    paginator = (
        CappedPaginator(ordered, PAGE_SIZE)
        if request.user.has_any_role(Role.ADMIN)
        else CappedIdPaginator(ordered, PAGE_SIZE)
    )
    page = paginator.get_page(request.GET.get("page"))
    rows = (
        FollowUp.objects.filter(tenant_id=request.user.tenant_id)
        .select_related("customer", "author", "contact", "lead")
        .in_bulk(list(page))
    )
    follow_ups = [rows[pk] for pk in page]
    for follow_up in follow_ups:
        follow_up.can_edit = followup_editable_by(request.user, follow_up)
    context = {"filter": filterset, "page": page, "follow_ups": follow_ups}
    template = (
        "sales/partials/followup_results.html"
        if request.htmx and not request.htmx.boosted
        else "sales/followup_list.html"
    )
    return render(request, template, context)


@tenant_required
@require_http_methods(["GET", "POST"])
def followup_edit(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = get_follow_up_for_user(request.user, pk)
    if follow_up.author_id != request.user.pk:
        raise PermissionDenied(_("Only the author may edit a follow-up."))
    if not followup_editable_by(request.user, follow_up):
        raise PermissionDenied(_("This follow-up can no longer be edited; it is on the record."))
    customer = follow_up.customer
    if follow_up.lead_id:
        back = reverse("sales:lead_detail", args=[follow_up.lead_id])
    elif follow_up.opportunity_id:
        back = reverse("sales:opportunity_detail", args=[follow_up.opportunity_id])
    else:
        back = reverse("customers:detail", args=[customer.pk])
    initial = {
        "kind": follow_up.kind,
        "happened_at": timezone.localtime(follow_up.happened_at),
        "contact": follow_up.contact_id,
        "content": follow_up.content,
        "outcome": follow_up.outcome,
        "next_step": follow_up.next_step,
    }
    form = FollowUpForm(request.POST or None, customer=customer, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            followup_update(
                acting_user=request.user,
                follow_up=follow_up,
                kind=data["kind"],
                content=data["content"],
                outcome=data["outcome"],
                happened_at=data["happened_at"],
                contact=data.get("contact"),
                next_step=data["next_step"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Follow-up saved."))
            return redirect(back)
    return render(
        request,
        "sales/followup_form.html",
        {"form": form, "customer": customer, "follow_up": follow_up, "back": back},
        status=form_status(form),
    )
