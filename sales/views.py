"""Pages of the sales app: thin views that parse, call a selector or a service, and render.

Every object is reached through an access helper built on the model's `visible_to(user)`: another tenant's id, a
missing id and an invisible one all answer 404. htmx requests get the same partial templates the full pages include
(with `Vary: HX-Request`); an invalid form posted by htmx answers 422 with the form, which static/js/crm.js swaps.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import assignable_users, safe_redirect_url
from crm.errors import DomainError
from crm.models import Role, User
from crm.web import apply_domain_error, paginate, tenant_required
from customers.access import get_customer_for_user
from customers.filters import search_customers
from customers.models import Contact, Customer

from . import services
from .filters import FollowUpFilter, OrderFilter, TaskFilter, day_bounds
from .forms import AppointmentForm, FollowUpForm, OrderForm, OrderLineFormSet, OrderVoidForm, TaskForm
from .models import (
    Appointment,
    AppointmentAttendee,
    AppointmentContact,
    FollowUp,
    Opportunity,
    Order,
    OrderLine,
    Task,
)

PAGE_SIZE = 50


# --- access helpers (same 404 for missing, invisible and another tenant's) ------------------------------------


def get_task_for_user(request: HttpRequest, pk: int) -> Task:
    return get_object_or_404(
        Task.objects.visible_to(request.user).select_related("assignee", "customer", "created_by", "done_by"), pk=pk
    )


def get_follow_up_for_user(request: HttpRequest, pk: int) -> FollowUp:
    return get_object_or_404(
        FollowUp.objects.visible_to(request.user).select_related(
            "customer", "author", "contact", "lead", "opportunity"
        ),
        pk=pk,
    )


def get_appointment_for_user(request: HttpRequest, pk: int, *, for_change: bool = False) -> Appointment:
    appointment = get_object_or_404(
        Appointment.objects.visible_to(request.user).select_related("owner", "customer", "created_by"), pk=pk
    )
    if for_change and not services.can_change_appointment(request.user, appointment):
        raise PermissionDenied(_("Only the owner, their manager or an administrator may change this appointment."))
    return appointment


def get_order_for_user(request: HttpRequest, pk: int) -> Order:
    return get_object_or_404(
        Order.objects.visible_to(request.user).select_related("customer", "created_by", "voided_by"), pk=pk
    )


def _next(request: HttpRequest) -> str:
    return request.POST.get("next") or request.GET.get("next") or ""


def _visible_customer_ids(user: User, ids) -> set[int]:
    ids = {i for i in ids if i}
    if not ids:
        return set()
    return set(Customer.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))


def _mark_customer_visibility(user: User, rows) -> None:
    """A row linked to a customer the user no longer sees shows no name: one query for the whole page."""
    visible = _visible_customer_ids(user, [r.customer_id for r in rows])
    for row in rows:
        row.customer_visible = row.customer_id in visible


def _customer_can_edit(request: HttpRequest, customer: Customer) -> bool:
    cache = request.__dict__.setdefault("_sales_can_edit", {})
    if customer.pk not in cache:
        cache[customer.pk] = Customer.objects.editable_by(request.user).filter(pk=customer.pk).exists()
    return cache[customer.pk]


def _status(form) -> int:
    return 422 if form.errors else 200


# --- tasks ---------------------------------------------------------------------------------------------------


def task_counts(user: User, tenant) -> dict:
    now = timezone.now()
    today_start, today_end = day_bounds(tenant, timezone.localtime(now, tenant.tzinfo).date())
    return (
        Task.objects.visible_to(user)
        .filter(assignee=user)
        .open()
        .aggregate(
            overdue=Count("pk", filter=Q(due_at__lt=now)),
            today=Count("pk", filter=Q(due_at__gte=max(now, today_start), due_at__lt=today_end)),
            upcoming=Count("pk", filter=Q(due_at__gte=today_end)),
        )
    )


@tenant_required
@vary_on_headers("HX-Request")
def task_list(request: HttpRequest) -> HttpResponse:
    base = Task.objects.visible_to(request.user).select_related("assignee", "customer")
    filterset = TaskFilter(request.GET, queryset=base, request=request)
    page = paginate(request, filterset.qs, PAGE_SIZE)
    tasks = list(page)
    _mark_customer_visibility(request.user, tasks)
    context = {
        "filter": filterset,
        "page": page,
        "tasks": tasks,
        "show_assignee": filterset.show_assignee,
        "counts": task_counts(request.user, request.tenant),
        "status": filterset.form.cleaned_data.get("status") if filterset.form.is_valid() else "open",
    }
    template = (
        "sales/partials/task_results.html" if request.htmx and not request.htmx.boosted else "sales/task_list.html"
    )
    return render(request, template, context)


def _initial_customer(request: HttpRequest, *, editable: bool = False) -> Customer | None:
    raw = request.GET.get("customer", "")
    if not raw.isdigit():
        return None
    qs = Customer.objects.editable_by(request.user) if editable else Customer.objects.visible_to(request.user)
    return qs.filter(pk=int(raw)).first()


@tenant_required
@require_http_methods(["GET", "POST"])
def task_create(request: HttpRequest) -> HttpResponse:
    customer = _initial_customer(request)
    tomorrow_nine = datetime.combine(timezone.localdate() + timedelta(days=1), time(9, 0))
    initial = {
        "assignee": request.user,
        "customer": customer,
        "due_at": timezone.make_aware(tomorrow_nine),
        "remind_at": timezone.make_aware(tomorrow_nine - timedelta(minutes=15)),
    }
    form = TaskForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task = services.task_create(
                acting_user=request.user,
                title=data["title"],
                due_at=data["due_at"],
                remind_at=data["remind_at"],
                assignee=data["assignee"],
                customer=data["customer"],
                notes=data["notes"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Task “%(title)s” created.") % {"title": task.title})
            return redirect(safe_redirect_url(request, _next(request), reverse("sales:task_detail", args=[task.pk])))
    return render(
        request,
        "sales/task_form.html",
        {"form": form, "creating": True, "next": safe_redirect_url(request, _next(request), "")},
        status=_status(form),
    )


@tenant_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for_user(request, pk)
    _mark_customer_visibility(request.user, [task])
    return render(request, "sales/task_detail.html", {"task": task})


@tenant_required
@require_http_methods(["GET", "POST"])
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for_user(request, pk)
    initial = {
        "title": task.title,
        "due_at": timezone.localtime(task.due_at),
        "remind_at": timezone.localtime(task.remind_at) if task.remind_at else None,
        "assignee": task.assignee,
        "customer": task.customer_id,
        "notes": task.notes,
    }
    form = TaskForm(request.POST or None, user=request.user, initial=initial)
    if task.customer_id:
        # The current link stays valid even if the customer was since transferred away.
        form.fields["customer"].queryset = Customer.objects.visible_to(request.user) | Customer.objects.filter(
            tenant_id=task.tenant_id, pk=task.customer_id
        )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.task_update(
                acting_user=request.user,
                task=task,
                title=data["title"],
                due_at=data["due_at"],
                remind_at=data["remind_at"],
                assignee=data["assignee"],
                customer=data["customer"],
                notes=data["notes"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Task saved."))
            return redirect("sales:task_detail", pk=task.pk)
    return render(request, "sales/task_form.html", {"form": form, "task": task}, status=_status(form))


def _task_toggle(request: HttpRequest, pk: int, done: bool) -> HttpResponse:
    task = get_task_for_user(request, pk)
    task = services.task_set_done(acting_user=request.user, task=task, done=done)
    if request.htmx:
        task = get_task_for_user(request, pk)
        _mark_customer_visibility(request.user, [task])
        return render(
            request,
            "sales/partials/task_item.html",
            {"t": task, "show_assignee": request.POST.get("show_assignee") == "1"},
        )
    if done:
        messages.success(request, _("Task “%(title)s” done.") % {"title": task.title})
    else:
        messages.success(request, _("Task “%(title)s” reopened.") % {"title": task.title})
    return redirect(safe_redirect_url(request, _next(request), reverse("sales:task_detail", args=[task.pk])))


@tenant_required
@require_POST
@vary_on_headers("HX-Request")
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_toggle(request, pk, True)


@tenant_required
@require_POST
@vary_on_headers("HX-Request")
def task_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _task_toggle(request, pk, False)


# --- follow-ups ----------------------------------------------------------------------------------------------


def followup_panel_context(request: HttpRequest, customer: Customer, form: FollowUpForm | None = None) -> dict:
    """The customer page's follow-up panel: the timeline and, for those who may change the customer, the form."""
    can_log = _customer_can_edit(request, customer)
    follow_ups = list(
        FollowUp.objects.filter(tenant_id=customer.tenant_id, customer=customer)
        .select_related("author", "contact")
        .order_by("-happened_at", "-pk")[:20]
    )
    for follow_up in follow_ups:
        follow_up.can_edit = services.followup_editable_by(request.user, follow_up)
    if can_log and form is None:
        form = FollowUpForm(customer=customer)
    return {"customer": customer, "follow_ups": follow_ups, "form": form if can_log else None}


def upcoming_panel_context(request: HttpRequest, customer: Customer) -> dict:
    tasks = list(
        Task.objects.visible_to(request.user)
        .filter(customer=customer)
        .open()
        .select_related("assignee", "customer")
        .order_by("due_at", "pk")[:10]
    )
    for task in tasks:
        task.customer_visible = True
    appointments = list(
        Appointment.objects.visible_to(request.user)
        .live()
        .filter(customer=customer, end_at__gte=timezone.now())
        .select_related("owner")
        .order_by("start_at", "pk")[:5]
    )
    return {"customer": customer, "tasks": tasks, "appointments": appointments}


def orders_panel_context(request: HttpRequest, customer: Customer) -> dict:
    orders = Order.objects.filter(tenant_id=customer.tenant_id, customer=customer).valid()
    return {
        "customer": customer,
        "orders": list(orders.order_by("-ordered_on", "-pk")[:10]),
        "totals": list(orders.order_by().values("currency").annotate(total=Sum("amount"), count=Count("pk"))),
        "can_record": _customer_can_edit(request, customer),
    }


@tenant_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def followup_create(request: HttpRequest, customer_pk: int) -> HttpResponse:
    """Log a follow-up from the customer page (htmx: the panel is swapped in place, with the profile's "last
    follow-up" and the upcoming tasks updated out of band), or as a page without JavaScript."""
    customer = get_customer_for_user(request.user, customer_pk)
    if request.method == "GET":
        return render(request, "sales/partials/followup_panel.html", {"p": followup_panel_context(request, customer)})
    if not _customer_can_edit(request, customer):
        raise PermissionDenied(_("You may see this customer but not change it."))
    form = FollowUpForm(request.POST, customer=customer)
    if form.is_valid():
        data = form.cleaned_data
        next_task = None
        if data.get("create_next_task"):
            next_task = services.NextTask(
                title=data["next_task_title"] or data["next_step"],
                due_at=data["next_task_due_at"],
                remind_at=data["next_task_remind_at"],
            )
        try:
            services.followup_log(
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
    base = FollowUp.objects.visible_to(request.user).select_related("customer", "author", "contact", "lead")
    filterset = FollowUpFilter(request.GET or None, queryset=base, request=request)
    page = paginate(request, filterset.qs.order_by("-happened_at", "-pk"), PAGE_SIZE)
    follow_ups = list(page)
    for follow_up in follow_ups:
        follow_up.can_edit = services.followup_editable_by(request.user, follow_up)
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
    follow_up = get_follow_up_for_user(request, pk)
    if follow_up.author_id != request.user.pk:
        raise PermissionDenied(_("Only the author may edit a follow-up."))
    if not services.followup_editable_by(request.user, follow_up):
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
            services.followup_update(
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
        status=_status(form),
    )


# --- pickers (htmx) ------------------------------------------------------------------------------------------


@tenant_required
@require_GET
def customer_options(request: HttpRequest) -> HttpResponse:
    """<option>s for the customer pickers: a search over the customers the user can see (or change, for orders)."""
    editable = request.GET.get("for") == "order"
    base = Customer.objects.editable_by(request.user) if editable else Customer.objects.visible_to(request.user)
    # The picker's search box is named customer_search (so it never clashes with a form's own fields).
    text = (request.GET.get("customer_search") or request.GET.get("q") or "").strip()
    customers = list(search_customers(base, text, request.tenant).order_by("name", "pk")[:20]) if text else []
    # The picker's own select is sent along (hx-include): keep the current choice as an option.
    selected = request.GET.get("customer", "")
    current = base.filter(pk=int(selected)).first() if selected.isdigit() else None
    return render(
        request,
        "sales/partials/customer_options.html",
        {"customers": customers, "current": current, "required": request.GET.get("required") == "1"},
    )


@tenant_required
@require_GET
def contact_options(request: HttpRequest) -> HttpResponse:
    """The contacts of the chosen customer, as the appointment form's checkboxes."""
    raw = request.GET.get("customer", "")
    contacts = Contact.objects.none()
    if raw.isdigit():
        contacts = Contact.objects.filter(
            tenant_id=request.tenant.pk, customer__in=Customer.objects.visible_to(request.user).filter(pk=int(raw))
        ).order_by("-is_primary", "name", "pk")
    return render(request, "sales/partials/contact_options.html", {"contacts": contacts})


# --- calendar ------------------------------------------------------------------------------------------------


class CalendarItem:
    """An appointment or a task as shown on one day of the calendar."""

    def __init__(self, *, kind: str, obj, start: datetime, end: datetime | None, people: list[User]):
        self.kind, self.obj, self.start, self.end, self.people = kind, obj, start, end, people
        self.conflict = False

    @property
    def is_appointment(self) -> bool:
        return self.kind == "appointment"


def _parse_date(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _calendar_range(view: str, anchor: date) -> tuple[date, date]:
    if view == "month":
        first = anchor.replace(day=1)
        start = first - timedelta(days=first.weekday())
        next_month = (first + timedelta(days=32)).replace(day=1)
        end = next_month + timedelta(days=(7 - next_month.weekday()) % 7)
        return start, end
    start = anchor - timedelta(days=anchor.weekday())
    return start, start + timedelta(days=7)


def _shift(view: str, anchor: date, step: int) -> date:
    if view == "month":
        month = anchor.month - 1 + step
        return date(anchor.year + month // 12, month % 12 + 1, 1)
    return anchor + timedelta(days=7 * step)


def calendar_data(*, user: User, tenant, people: list[User], start: date, end: date) -> dict:
    """Appointments and tasks of `people` between two local dates: a fixed number of queries however many people
    or days (appointments, their attendees, tasks)."""
    ids = [p.pk for p in people]
    by_id = {p.pk: p for p in people}
    range_start = day_bounds(tenant, start)[0]
    range_end = day_bounds(tenant, end)[0]
    appointments = list(
        Appointment.objects.visible_to(user)
        .live()
        .filter(start_at__lt=range_end, end_at__gt=range_start)
        .involving(ids)
        .select_related("owner", "customer")
        .prefetch_related(Prefetch("attendee_links", queryset=AppointmentAttendee.objects.select_related("user")))
        .order_by("start_at", "pk")
    )
    tasks = list(
        Task.objects.visible_to(user)
        .filter(assignee_id__in=ids, due_at__gte=range_start, due_at__lt=range_end)
        .select_related("assignee", "customer")
        .order_by("due_at", "pk")
    )
    tz = tenant.tzinfo
    # cells[(person_id, day)] → items; one person's appointments overlapping each other are flagged.
    cells: dict[tuple[int, date], list[CalendarItem]] = defaultdict(list)
    per_person: dict[int, list[CalendarItem]] = defaultdict(list)
    for appointment in appointments:
        involved = [appointment.owner] + [link.user for link in appointment.attendee_links.all()]
        shown = [u for u in involved if u.pk in by_id]
        local_start = timezone.localtime(appointment.start_at, tz)
        local_end = timezone.localtime(appointment.end_at, tz)
        for person in shown:
            item = CalendarItem(
                kind="appointment", obj=appointment, start=appointment.start_at, end=appointment.end_at, people=involved
            )
            per_person[person.pk].append(item)
            day = max(local_start.date(), start)
            last = min((local_end - timedelta(microseconds=1)).date(), end - timedelta(days=1))
            while day <= last:
                cells[(person.pk, day)].append(item)
                day += timedelta(days=1)
    for items in per_person.values():
        items.sort(key=lambda i: (i.start, i.obj.pk))
        for i, item in enumerate(items):
            for other in items[i + 1 :]:
                if other.start >= item.end:
                    break
                item.conflict = other.conflict = True
    for task in tasks:
        item = CalendarItem(kind="task", obj=task, start=task.due_at, end=None, people=[task.assignee])
        cells[(task.assignee_id, timezone.localtime(task.due_at, tz).date())].append(item)
    for items in cells.values():
        items.sort(key=lambda i: (i.start, i.kind != "appointment", i.obj.pk))
    return {"cells": cells, "appointment_count": len(appointments), "task_count": len(tasks)}


@tenant_required
def calendar(request: HttpRequest) -> HttpResponse:
    """A person's (or, for a manager, a team's) appointments and tasks by week or by month."""
    user, tenant = request.user, request.tenant
    view = request.GET.get("view") if request.GET.get("view") in ("week", "month") else "week"
    today = timezone.localtime(timezone.now(), tenant.tzinfo).date()
    anchor = _parse_date(request.GET.get("date"), today)
    is_lead = user.has_any_role(Role.MANAGER, Role.ADMIN)
    choices = list(assignable_users(user).order_by("full_name")) if is_lead else [user]
    member = request.GET.get("member", "")
    if is_lead and member == "all":
        people = choices
    elif member.isdigit() and int(member) in {p.pk for p in choices}:
        people = [p for p in choices if p.pk == int(member)]
    else:
        member, people = "", [user]
    start, end = _calendar_range(view, anchor)
    data = calendar_data(user=user, tenant=tenant, people=people, start=start, end=end)
    cells = data["cells"]
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    team = len(people) > 1
    if team:
        rows = [{"person": p, "cells": [{"day": d, "items": cells.get((p.pk, d), [])} for d in days]} for p in people]
        merged: dict[date, list[CalendarItem]] = defaultdict(list)
        for (_person_id, d), items in cells.items():
            for item in items:
                if item not in merged[d]:
                    merged[d].append(item)
        for items in merged.values():
            items.sort(key=lambda i: (i.start, i.obj.pk))
    else:
        rows = []
        merged = {d: cells.get((people[0].pk, d), []) for d in days}
    weeks = [
        [{"day": d, "items": merged.get(d, []), "in_month": d.month == anchor.month} for d in days[i : i + 7]]
        for i in range(0, len(days), 7)
    ]
    context = {
        "view": view,
        "anchor": anchor,
        "today": today,
        "start": start,
        "end": end - timedelta(days=1),
        "days": days,
        "weeks": weeks,
        "rows": rows,
        "team": team,
        "people": people,
        "choices": choices if is_lead else [],
        "member": member,
        "prev": _shift(view, anchor, -1).isoformat(),
        "next": _shift(view, anchor, 1).isoformat(),
        "counts": data,
    }
    return render(request, "sales/calendar.html", context)


# --- appointments --------------------------------------------------------------------------------------------


def _appointment_form_response(request, form, *, appointment=None, conflicts=(), creating=False):
    return render(
        request,
        "sales/appointment_form.html",
        {"form": form, "appointment": appointment, "conflicts": conflicts, "creating": creating},
        status=_status(form),
    )


def _save_appointment(request: HttpRequest, form: AppointmentForm, appointment: Appointment | None):
    """Returns the saved appointment, or None with the form carrying the error (and the overlap checkbox shown)."""
    data = form.cleaned_data
    try:
        return (
            services.appointment_save(
                acting_user=request.user,
                appointment=appointment,
                title=data["title"],
                start_at=data["start_at"],
                end_at=data["end_at"],
                owner=data["owner"],
                place=data["place"],
                notes=data["notes"],
                customer=data["customer"],
                attendees=data["attendees"],
                contacts=data["contacts"],
                confirm_overlap=data["confirm_overlap"],
            ),
            [],
        )
    except services.OverlapWarning as exc:
        form.add_error(None, exc.message)
        return None, exc.conflicts
    except DomainError as exc:
        apply_domain_error(form, exc)
        return None, []


@tenant_required
@require_http_methods(["GET", "POST"])
def appointment_create(request: HttpRequest) -> HttpResponse:
    day = _parse_date(request.GET.get("date"), timezone.localdate())
    start_hour = 9 if day != timezone.localdate() else min(max(timezone.localtime().hour + 1, 9), 22)
    start = timezone.make_aware(datetime.combine(day, time(start_hour, 0)))
    customer = _initial_customer(request)
    initial = {"start_at": start, "end_at": start + timedelta(hours=1), "owner": request.user, "customer": customer}
    form = AppointmentForm(
        request.POST or None, user=request.user, initial=initial, show_confirm="confirm_overlap" in request.POST
    )
    conflicts = []
    if request.method == "POST" and form.is_valid():
        appointment, conflicts = _save_appointment(request, form, None)
        if appointment is not None:
            messages.success(request, _("Appointment “%(title)s” saved.") % {"title": appointment.title})
            return redirect(_appointment_calendar_url(appointment))
        if conflicts:
            form = _with_confirm(request, form)
    return _appointment_form_response(request, form, conflicts=conflicts, creating=True)


def _with_confirm(request: HttpRequest, form: AppointmentForm) -> AppointmentForm:
    """Show the "save anyway" checkbox (unchecked) next to the overlap warning, keeping what was typed."""
    data = request.POST.copy()
    data.pop("confirm_overlap", None)
    errors = form.errors
    confirmed = AppointmentForm(data, user=request.user, show_confirm=True)
    confirmed.full_clean()
    for field, messages_ in errors.items():
        for message in messages_:
            confirmed.add_error(None if field == "__all__" else field, message)
    return confirmed


def _appointment_calendar_url(appointment: Appointment) -> str:
    day = timezone.localtime(appointment.start_at).date().isoformat()
    return f"{reverse('sales:calendar')}?date={day}"


@tenant_required
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request, pk)
    attendees = list(
        AppointmentAttendee.objects.filter(appointment=appointment).select_related("user").order_by("user__full_name")
    )
    contacts = list(
        AppointmentContact.objects.filter(appointment=appointment).select_related("contact").order_by("contact__name")
    )
    customer_visible = bool(_visible_customer_ids(request.user, [appointment.customer_id]))
    return render(
        request,
        "sales/appointment_detail.html",
        {
            "appointment": appointment,
            "attendees": [a.user for a in attendees],
            "contacts": [c.contact for c in contacts],
            "customer_visible": customer_visible,
            "can_change": services.can_change_appointment(request.user, appointment),
        },
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def appointment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request, pk, for_change=True)
    if appointment.is_cancelled:
        messages.error(request, _("This appointment was cancelled."))
        return redirect("sales:appointment_detail", pk=appointment.pk)
    initial = {
        "title": appointment.title,
        "start_at": timezone.localtime(appointment.start_at),
        "end_at": timezone.localtime(appointment.end_at),
        "place": appointment.place,
        "owner": appointment.owner,
        "attendees": list(appointment.attendee_links.values_list("user_id", flat=True)),
        "customer": appointment.customer_id,
        "contacts": list(appointment.contact_links.values_list("contact_id", flat=True)),
        "notes": appointment.notes,
    }
    form = AppointmentForm(
        request.POST or None, user=request.user, initial=initial, show_confirm="confirm_overlap" in request.POST
    )
    if appointment.customer_id:
        form.fields["customer"].queryset = Customer.objects.visible_to(request.user) | Customer.objects.filter(
            tenant_id=appointment.tenant_id, pk=appointment.customer_id
        )
    conflicts = []
    if request.method == "POST" and form.is_valid():
        saved, conflicts = _save_appointment(request, form, appointment)
        if saved is not None:
            messages.success(request, _("Appointment “%(title)s” saved.") % {"title": saved.title})
            return redirect(_appointment_calendar_url(saved))
        if conflicts:
            form = _with_confirm(request, form)
    return _appointment_form_response(request, form, appointment=appointment, conflicts=conflicts)


@tenant_required
@require_POST
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request, pk, for_change=True)
    services.appointment_cancel(acting_user=request.user, appointment=appointment)
    messages.success(request, _("Appointment “%(title)s” cancelled.") % {"title": appointment.title})
    return redirect(_appointment_calendar_url(appointment))


# --- orders --------------------------------------------------------------------------------------------------


@tenant_required
@vary_on_headers("HX-Request")
def order_list(request: HttpRequest) -> HttpResponse:
    base = Order.objects.visible_to(request.user).select_related("customer", "created_by")
    filterset = OrderFilter(request.GET or None, queryset=base, request=request)
    qs = filterset.qs
    page = paginate(request, qs, PAGE_SIZE)
    totals = list(
        qs.order_by().values("currency").annotate(total=Sum("amount"), count=Count("pk")).order_by("currency")
    )
    context = {"filter": filterset, "page": page, "orders": list(page), "totals": totals}
    template = (
        "sales/partials/order_results.html" if request.htmx and not request.htmx.boosted else "sales/order_list.html"
    )
    return render(request, template, context)


@tenant_required
@require_http_methods(["GET", "POST"])
def order_create(request: HttpRequest) -> HttpResponse:
    customer = _initial_customer(request, editable=True)
    initial = {"customer": customer, "ordered_on": timezone.localdate(), "currency": request.tenant.currency}
    form = OrderForm(request.POST or None, user=request.user, initial=initial)
    lines = OrderLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        product_lines = [
            services.Line(
                name=f.cleaned_data["name"],
                quantity=f.cleaned_data["quantity"],
                unit_price=f.cleaned_data["unit_price"],
            )
            for f in lines.forms
            if not f.is_blank
        ]
        try:
            order = services.order_create(
                acting_user=request.user,
                customer=data["customer"],
                ordered_on=data["ordered_on"],
                currency=data["currency"],
                amount=data["amount"],
                lines=product_lines,
                items_text=data["items_text"],
                reference=data["reference"],
                notes=data["notes"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Order recorded."))
            return redirect(safe_redirect_url(request, _next(request), reverse("sales:order_detail", args=[order.pk])))
    has_errors = bool(form.errors) or (lines.is_bound and not lines.is_valid())
    return render(
        request,
        "sales/order_form.html",
        {"form": form, "lines": lines, "next": safe_redirect_url(request, _next(request), "")},
        status=422 if has_errors else 200,
    )


@tenant_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_order_for_user(request, pk)
    lines = list(OrderLine.objects.filter(order=order).order_by("position", "pk"))
    can_void = not order.is_void and _customer_can_edit(request, order.customer)
    # The opportunity whose winning recorded it, if the user may see that opportunity.
    won = Opportunity.objects.visible_to(request.user).filter(order=order).only("pk", "name").first()
    return render(
        request,
        "sales/order_detail.html",
        {"order": order, "lines": lines, "void_form": OrderVoidForm() if can_void else None, "won_opportunity": won},
    )


@tenant_required
@require_POST
def order_void(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_order_for_user(request, pk)
    form = OrderVoidForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the order is void."))
        return redirect("sales:order_detail", pk=order.pk)
    try:
        services.order_void(acting_user=request.user, order=order, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Order voided."))
    return redirect("sales:order_detail", pk=order.pk)


def home_tasks_context(request: HttpRequest) -> dict:
    """The home widget: my overdue and today's open tasks, and today's appointments (3 queries)."""
    user, tenant = request.user, request.tenant
    today = timezone.localtime(timezone.now(), tenant.tzinfo).date()
    today_start, today_end = day_bounds(tenant, today)
    tasks = list(
        Task.objects.visible_to(user)
        .filter(assignee=user, due_at__lt=today_end)
        .open()
        .select_related("assignee", "customer")
        .order_by("due_at", "pk")[:10]
    )
    _mark_customer_visibility(user, tasks)
    appointments = list(
        Appointment.objects.visible_to(user)
        .live()
        .involving([user.pk])
        .filter(start_at__lt=today_end, end_at__gt=today_start)
        .select_related("customer")
        .order_by("start_at", "pk")[:6]
    )
    return {"tasks": tasks, "appointments": appointments, "counts": task_counts(user, tenant)}
