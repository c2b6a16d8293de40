"""The service desk's pages: the ticket list (views, filters, search, bulk assign and close), a new ticket, the
ticket page (conversation, reply or note, status, edit, assign), the pickers and the agent's away switch."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import safe_redirect_url
from crm.errors import DomainError
from crm.forms import SearchForm
from crm.models import Role
from crm.web import (
    PAGE_SIZE,
    CappedPaginator,
    apply_domain_error,
    domain_action,
    form_status,
    selected_ids,
    tenant_required,
)
from customers.filters import search_customers
from customers.models import Contact
from service.access import (
    can_work,
    get_ticket_for_user,
    require_desk,
    ticket_customers,
)
from service.exports.ticket import TicketExport
from service.filters import TicketFilter
from service.forms.ticket import (
    AssignForm,
    CustomerParamForm,
    ReplyForm,
    StatusForm,
    TicketEditForm,
    TicketForm,
    canned_replies,
)
from service.models import AgentPresence, Ticket
from service.selectors.survey import ticket_survey
from service.services.presence import presence_set
from service.services.sla import timer_state
from service.services.ticket import (
    ticket_create,
    ticket_reply,
    ticket_set_status,
    ticket_update,
    tickets_assign,
    tickets_close,
)


def _with_timers(tickets: list[Ticket]) -> list[Ticket]:
    now = timezone.now()
    for ticket in tickets:
        ticket.timer = timer_state(ticket, now)
    return tickets


@tenant_required
@vary_on_headers("HX-Request")
def ticket_list(request: HttpRequest) -> HttpResponse:
    """A fixed number of queries whatever the page size: the capped count and the page with its relations."""
    require_desk(request.user)
    base = Ticket.objects.visible_to(request.user)
    filterset = TicketFilter(request.GET, queryset=base, request=request)
    qs = filterset.qs
    if not qs.ordered:
        qs = qs.order_by("-created_at", "-pk")
    page = CappedPaginator(
        qs.select_related("customer", "contact", "assignee", "team", "category"), PAGE_SIZE, count_queryset=qs
    ).get_page(request.GET.get("page"))
    tickets = _with_timers(list(page))
    away = AgentPresence.objects.filter(tenant=request.tenant, user=request.user, away=True).exists()
    context = {
        "filter": filterset,
        "page": page,
        "tickets": tickets,
        "assign_form": AssignForm(user=request.user),
        "away": away,
        "is_agent": request.user.has_any_role(Role.AGENT),
        "export_url": reverse("service:ticket_export") if TicketExport.can_export(request.user) else None,
    }
    template = "service/_results.html" if request.htmx and not request.htmx.boosted else "service/list.html"
    return render(request, template, context)


@tenant_required
@require_POST
def ticket_bulk(request: HttpRequest) -> HttpResponse:
    """Assign or close the checked tickets (scoped to what the user may change)."""
    require_desk(request.user)
    back = safe_redirect_url(request, request.POST.get("back"), reverse("service:ticket_list"))
    _raw, ids = selected_ids(request)
    tickets = list(Ticket.objects.workable_by(request.user).filter(pk__in=ids).select_related("tenant"))
    if not tickets:
        messages.error(request, _("Select at least one ticket you may change."))
        return redirect(back)
    if request.POST.get("action") == "close":
        return domain_action(
            request,
            lambda: tickets_close(acting_user=request.user, tickets=tickets),
            success=lambda count: _("%(count)d tickets closed.") % {"count": count},
            then=back,
        )
    form = AssignForm(request.POST, user=request.user)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    return domain_action(
        request,
        lambda: tickets_assign(
            acting_user=request.user,
            tickets=tickets,
            assignee=form.cleaned_data["assignee"],
            team=form.cleaned_data["team"],
        ),
        success=lambda count: _("%(count)d tickets assigned.") % {"count": count},
        then=back,
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def ticket_create_view(request: HttpRequest) -> HttpResponse:
    require_desk(request.user)
    customer = CustomerParamForm(request.GET, queryset=ticket_customers(request.user)).value("customer")
    form = TicketForm(request.POST or None, request.FILES or None, user=request.user, initial={"customer": customer})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = ticket_create(
                tenant=request.tenant,
                acting_user=request.user,
                customer=data["customer"],
                contact=data["contact"],
                subject=data["subject"],
                description=data["description"],
                channel=data["channel"],
                priority=data["priority"],
                category=data["category"],
                tags=data["tags"],
                assignee=data["assignee"],
                files=data["attachments"],
                custom=form.custom_data(),
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Ticket %(number)s created.") % {"number": ticket.display_number})
            return redirect("service:ticket_detail", pk=ticket.pk)
    return render(request, "service/form.html", {"form": form}, status=form_status(form))


def _detail_context(request: HttpRequest, ticket: Ticket, **forms) -> dict:
    conversation = list(
        ticket.messages.select_related("author").prefetch_related("attachments").order_by("created_at", "pk")
    )
    _with_timers([ticket])
    workable = can_work(request.user, ticket)
    context = {
        "ticket": ticket,
        "conversation": conversation,
        "ticket_files": list(ticket.attachments.filter(message__isnull=True)),
        "can_work": workable,
        "escalations": list(ticket.escalations.order_by("created_at")),
        "survey": ticket_survey(ticket),
    }
    if workable:
        context.update(
            reply_form=forms.get("reply_form") or ReplyForm(),
            status_form=StatusForm(initial={"status": ticket.status}),
            edit_form=forms.get("edit_form")
            or TicketEditForm(
                user=request.user,
                current_category=ticket.category,
                custom=ticket.custom,
                initial={
                    "subject": ticket.subject,
                    "priority": ticket.priority,
                    "category": ticket.category,
                    "tags": ticket.tags,
                },
            ),
            assign_form=AssignForm(user=request.user, initial={"assignee": ticket.assignee, "team": ticket.team}),
            canned=canned_replies(request.tenant),
        )
    return context


@tenant_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_ticket_for_user(request.user, pk)
    return render(request, "service/detail.html", _detail_context(request, ticket))


@tenant_required
@require_POST
def ticket_reply_view(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_ticket_for_user(request.user, pk)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            ticket_reply(
                acting_user=request.user,
                ticket=ticket,
                body=data["body"],
                public=data["kind"] == "reply",
                status=data["status"] or None,
                files=data["attachments"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Reply sent.") if data["kind"] == "reply" else _("Note added."))
            return redirect("service:ticket_detail", pk=ticket.pk)
    ticket = get_ticket_for_user(request.user, pk)
    return render(request, "service/detail.html", _detail_context(request, ticket, reply_form=form), status=422)


@tenant_required
@require_POST
def ticket_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_ticket_for_user(request.user, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
        return redirect("service:ticket_detail", pk=ticket.pk)
    return domain_action(
        request,
        lambda: ticket_set_status(acting_user=request.user, ticket=ticket, status=form.cleaned_data["status"]),
        success=lambda ticket: _("Status: %(status)s.") % {"status": ticket.get_status_display()},
        then=reverse("service:ticket_detail", kwargs={"pk": ticket.pk}),
    )


@tenant_required
@require_POST
def ticket_edit(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_ticket_for_user(request.user, pk)
    form = TicketEditForm(request.POST, user=request.user, current_category=ticket.category, custom=ticket.custom)
    if form.is_valid():
        data = form.cleaned_data
        try:
            ticket_update(
                acting_user=request.user,
                ticket=ticket,
                subject=data["subject"],
                priority=data["priority"],
                category=data["category"],
                tags=data["tags"],
                custom=form.custom_data(),
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Ticket saved."))
            return redirect("service:ticket_detail", pk=ticket.pk)
    ticket = get_ticket_for_user(request.user, pk)
    return render(request, "service/detail.html", _detail_context(request, ticket, edit_form=form), status=422)


@tenant_required
@require_POST
def ticket_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_ticket_for_user(request.user, pk)
    form = AssignForm(request.POST, user=request.user)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("service:ticket_detail", pk=ticket.pk)
    return domain_action(
        request,
        lambda: tickets_assign(
            acting_user=request.user,
            tickets=[ticket],
            assignee=form.cleaned_data["assignee"],
            team=form.cleaned_data["team"],
        ),
        success=_("Ticket assigned."),
        then=reverse("service:ticket_detail", kwargs={"pk": ticket.pk}),
    )


@tenant_required
@require_POST
def presence_view(request: HttpRequest) -> HttpResponse:
    """The agent marks themself away (dispatch skips them) or back on duty."""
    return domain_action(
        request,
        lambda: presence_set(acting_user=request.user, away=request.POST.get("away") == "1"),
        success=lambda away: _("You are away: new tickets go to others.") if away else _("You are on duty."),
        then=safe_redirect_url(request, request.POST.get("back"), reverse("service:ticket_list")),
    )


@tenant_required
@require_GET
def customer_options(request: HttpRequest) -> HttpResponse:
    """<option>s for the new-ticket form's customer: a search over the customers tickets may be raised for."""
    base = ticket_customers(request.user)
    text = SearchForm({"q": request.GET.get("customer_search") or ""}).value("q")
    customers = list(search_customers(base, text, request.tenant).order_by("name", "pk")[:20]) if text else []
    current = CustomerParamForm(request.GET, queryset=base).value("customer")
    return render(request, "service/partials/customer_options.html", {"customers": customers, "current": current})


@tenant_required
@require_GET
def contact_options(request: HttpRequest) -> HttpResponse:
    """<option>s of the chosen customer's contacts."""
    customer = CustomerParamForm(request.GET, queryset=ticket_customers(request.user)).value("customer")
    contacts = (
        Contact.objects.filter(tenant_id=request.tenant.pk, customer=customer).order_by("-is_primary", "name", "pk")
        if customer is not None
        else Contact.objects.none()
    )
    return render(request, "service/partials/contact_options.html", {"contacts": contacts})
