"""Settings → Service desk (admins): the desk's settings, categories, SLA policies, dispatch rules with their dry
run, canned replies."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.access import require_admin
from crm.errors import DomainError
from crm.web import admin_required, apply_domain_error, domain_action, form_status, tenant_required
from service.access import get_for_admin
from service.forms.desk_settings import (
    CannedReplyForm,
    CategoryForm,
    DeskSettingsForm,
    DispatchPlanForm,
    DispatchRuleForm,
    SlaPolicyForm,
)
from service.models import CannedReply, DispatchRule, SlaPolicy, TicketCategory
from service.services.desk_settings import (
    canned_reply_delete,
    canned_reply_save,
    category_save,
    desk_settings_update,
    dispatch_rule_delete,
    dispatch_rule_save,
    sla_policy_delete,
    sla_policy_save,
)
from service.services.dispatch import dispatch_dry_run, plan_encode, plan_of, service_settings
from service.services.ticket import tickets_dispatch_apply


def _page(request: HttpRequest, **forms) -> dict:
    tenant = request.tenant
    found = service_settings(tenant.pk)
    return {
        "settings_form": forms.get("settings_form")
        or DeskSettingsForm(
            tenant=tenant,
            initial={
                "default_team": found.default_team_id,
                "max_open_per_agent": found.max_open_per_agent,
                "reopen_days": found.reopen_days,
                "survey_on": found.survey_on,
                "survey_days": found.survey_days,
            },
        ),
        "category_form": forms.get("category_form") or CategoryForm(),
        "sla_form": forms.get("sla_form") or SlaPolicyForm(tenant=tenant),
        "canned_form": forms.get("canned_form") or CannedReplyForm(),
        "categories": list(TicketCategory.objects.filter(tenant=tenant).order_by("name")),
        "policies": list(SlaPolicy.objects.filter(tenant=tenant).select_related("level").order_by("priority", "pk")),
        "rules": list(
            DispatchRule.objects.filter(tenant=tenant)
            .select_related("team", "category", "level")
            .order_by("order", "pk")
        ),
        "canned": list(CannedReply.objects.filter(tenant=tenant).order_by("title")),
        "inbound_url": request.build_absolute_uri(reverse("service:inbound_email", args=[tenant.slug])),
        "inbound_secret": found.inbound_secret,
        "public_url": request.build_absolute_uri(reverse("service:public_ticket", args=[tenant.slug])),
    }


def _render(request: HttpRequest, status: int = 200, editing_policy: SlaPolicy | None = None, **forms) -> HttpResponse:
    context = {**_page(request, **forms), "editing_policy": editing_policy}
    return render(request, "service/settings/index.html", context, status=status)


@admin_required
def desk_settings(request: HttpRequest) -> HttpResponse:
    return _render(request)


def _create(request: HttpRequest, form, form_key: str, save: Callable[[dict], object], done: str) -> HttpResponse:
    """One settings form posted: saved and back to the page with `done`, or the page again with the form's
    errors (a refusal of the service shown on its field)."""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("service:settings")
    return _render(request, form_status(form), **{form_key: form})


def _remove(request: HttpRequest, model, pk: int, delete: Callable[[object], None], done: str) -> HttpResponse:
    """One row of the settings removed (an admin's, of this company: anything else is 404)."""
    delete(get_for_admin(request.user, model, pk))
    messages.success(request, done)
    return redirect("service:settings")


@admin_required
@require_POST
def desk_settings_save(request: HttpRequest) -> HttpResponse:
    return _create(
        request,
        DeskSettingsForm(request.POST, tenant=request.tenant),
        "settings_form",
        lambda data: desk_settings_update(acting_user=request.user, **data),
        _("Settings saved."),
    )


@admin_required
@require_POST
def category_create(request: HttpRequest) -> HttpResponse:
    return _create(
        request,
        CategoryForm(request.POST),
        "category_form",
        lambda data: category_save(acting_user=request.user, category=None, name=data["name"], active=True),
        _("Category added."),
    )


@tenant_required
@require_POST
def category_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_for_admin(request.user, TicketCategory, pk)
    category_save(acting_user=request.user, category=category, name=category.name, active=not category.active)
    messages.success(request, _("Category saved."))
    return redirect("service:settings")


@admin_required
@require_POST
def sla_policy_create(request: HttpRequest) -> HttpResponse:
    return _create(
        request,
        SlaPolicyForm(request.POST, tenant=request.tenant),
        "sla_form",
        lambda data: sla_policy_save(acting_user=request.user, **data),
        _("SLA policy saved."),
    )


@tenant_required
def sla_policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The settings page with the policy's targets in the SLA form, to change them (saving replaces the policy of
    that priority and level)."""
    policy = get_for_admin(request.user, SlaPolicy, pk)
    form = SlaPolicyForm(
        tenant=request.tenant,
        initial={
            "priority": policy.priority,
            "level": policy.level_id,
            "first_response_minutes": policy.first_response_minutes,
            "resolution_minutes": policy.resolution_minutes,
        },
    )
    return _render(request, sla_form=form, editing_policy=policy)


@tenant_required
@require_POST
def sla_policy_remove(request: HttpRequest, pk: int) -> HttpResponse:
    return _remove(
        request,
        SlaPolicy,
        pk,
        lambda policy: sla_policy_delete(acting_user=request.user, policy=policy),
        _("SLA policy removed."),
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def dispatch_rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if pk:
        rule = get_for_admin(request.user, DispatchRule, pk)
    else:
        require_admin(request.user)
        rule = None
    initial = {}
    if rule is not None:
        initial = {
            "name": rule.name,
            "order": rule.order,
            "active": rule.active,
            "category": rule.category_id,
            "priorities": rule.priorities,
            "channels": rule.channels,
            "level": rule.level_id,
            "keywords": rule.keywords,
            "team": rule.team_id,
            "method": rule.method,
        }
    form = DispatchRuleForm(request.POST or None, tenant=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            dispatch_rule_save(acting_user=request.user, rule=rule, data=form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Dispatch rule saved."))
            return redirect("service:settings")
    return render(request, "service/settings/rule_form.html", {"form": form, "rule": rule}, status=form_status(form))


@tenant_required
@require_POST
def dispatch_rule_remove(request: HttpRequest, pk: int) -> HttpResponse:
    return _remove(
        request,
        DispatchRule,
        pk,
        lambda rule: dispatch_rule_delete(acting_user=request.user, rule=rule),
        _("Dispatch rule removed."),
    )


@admin_required
def dispatch_dry_run_view(request: HttpRequest) -> HttpResponse:
    """Where the current unassigned open tickets would go under the enabled rules; nothing is changed. The page
    carries the plan, so "Apply" gives exactly what it shows."""
    rows = dispatch_dry_run(tenant=request.tenant)
    return render(request, "service/settings/dry_run.html", {"rows": rows, "plan": plan_encode(plan_of(rows))})


@admin_required
@require_POST
def dispatch_apply_view(request: HttpRequest) -> HttpResponse:
    form = DispatchPlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["plan"][0])
        return redirect("service:dry_run")
    return domain_action(
        request,
        lambda: tickets_dispatch_apply(acting_user=request.user, plan=form.cleaned_data["plan"]),
        success=lambda count: _("%(count)d tickets dispatched.") % {"count": count},
        then="service:ticket_list",
        on_error="service:dry_run",
    )


@admin_required
@require_POST
def canned_reply_create(request: HttpRequest) -> HttpResponse:
    return _create(
        request,
        CannedReplyForm(request.POST),
        "canned_form",
        lambda data: canned_reply_save(acting_user=request.user, **data),
        _("Canned reply added."),
    )


@tenant_required
@require_POST
def canned_reply_remove(request: HttpRequest, pk: int) -> HttpResponse:
    return _remove(
        request,
        CannedReply,
        pk,
        lambda reply: canned_reply_delete(acting_user=request.user, reply=reply),
        _("Canned reply removed."),
    )
