"""Tasks: the list with counts, create, detail, edit, done and reopen."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.web import PAGE_SIZE, apply_domain_error, form_status, next_url, paginate, tenant_required
from customers.models import Customer
from sales.access import get_task_for_user
from sales.filters import TaskFilter
from sales.forms.fields import CustomerParamForm
from sales.forms.task import TaskForm
from sales.models import (
    Task,
)
from sales.selectors.customer import mark_customer_visibility
from sales.selectors.task import task_counts
from sales.services.task import task_create, task_set_done, task_update


@tenant_required
@vary_on_headers("HX-Request")
def task_list(request: HttpRequest) -> HttpResponse:
    base = Task.objects.visible_to(request.user).select_related("assignee", "customer")
    filterset = TaskFilter(request.GET, queryset=base, request=request)
    page = paginate(request, filterset.qs, PAGE_SIZE)
    tasks = list(page)
    mark_customer_visibility(request.user, tasks)
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


@tenant_required
@require_http_methods(["GET", "POST"])
def task_create_view(request: HttpRequest) -> HttpResponse:
    customer = CustomerParamForm(request.GET, queryset=Customer.objects.visible_to(request.user)).value("customer")
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
            task = task_create(
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
            return redirect(next_url(request, reverse("sales:task_detail", args=[task.pk])))
    return render(
        request,
        "sales/task_form.html",
        {"form": form, "creating": True, "next": next_url(request, "")},
        status=form_status(form),
    )


@tenant_required
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for_user(request.user, pk)
    mark_customer_visibility(request.user, [task])
    return render(request, "sales/task_detail.html", {"task": task})


@tenant_required
@require_http_methods(["GET", "POST"])
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for_user(request.user, pk)
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
            task_update(
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
    return render(request, "sales/task_form.html", {"form": form, "task": task}, status=form_status(form))


def _task_toggle(request: HttpRequest, pk: int, done: bool) -> HttpResponse:
    task = get_task_for_user(request.user, pk)
    task = task_set_done(acting_user=request.user, task=task, done=done)
    if request.htmx:
        task = get_task_for_user(request.user, pk)
        mark_customer_visibility(request.user, [task])
        # The page's counters follow out of band: the task list's or the home widget's, whichever holds the task.
        counters = request.POST.get("counters") if request.POST.get("counters") in ("list", "widget") else ""
        return render(
            request,
            "sales/partials/task_toggled.html",
            {
                "t": task,
                "show_assignee": request.POST.get("show_assignee") == "1",
                "counters": counters,
                "counts": task_counts(request.user, request.tenant) if counters else None,
                "oob": True,
            },
        )
    if done:
        messages.success(request, _("Task “%(title)s” done.") % {"title": task.title})
    else:
        messages.success(request, _("Task “%(title)s” reopened.") % {"title": task.title})
    return redirect(next_url(request, reverse("sales:task_detail", args=[task.pk])))


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
