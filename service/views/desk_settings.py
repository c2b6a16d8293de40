"""Settings → Service desk (admins): the desk's settings, categories, SLA policies, dispatch rules with their dry
run, canned replies."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.access import require_admin
from crm.errors import DomainError
from crm.web import admin_required, apply_domain_error, form_status, tenant_required
from service.access import get_for_admin
from service.forms.desk_settings import (
    CannedReplyForm,
    CategoryForm,
    DeskSettingsForm,
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
from service.services.dispatch import dispatch_dry_run, service_settings


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


def _render(request: HttpRequest, status: int = 200, **forms) -> HttpResponse:
    return render(request, "service/settings/index.html", _page(request, **forms), status=status)


@admin_required
def desk_settings(request: HttpRequest) -> HttpResponse:
    return _render(request)


@admin_required
@require_POST
def desk_settings_save(request: HttpRequest) -> HttpResponse:
    form = DeskSettingsForm(request.POST, tenant=request.tenant)
    if form.is_valid():
        try:
            desk_settings_update(acting_user=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("service:settings")
    return _render(request, form_status(form), settings_form=form)


@admin_required
@require_POST
def category_create(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST)
    if form.is_valid():
        try:
            category_save(acting_user=request.user, category=None, name=form.cleaned_data["name"], active=True)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Category added."))
            return redirect("service:settings")
    return _render(request, form_status(form), category_form=form)


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
    form = SlaPolicyForm(request.POST, tenant=request.tenant)
    if form.is_valid():
        try:
            sla_policy_save(acting_user=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("SLA policy saved."))
            return redirect("service:settings")
    return _render(request, form_status(form), sla_form=form)


@tenant_required
@require_POST
def sla_policy_remove(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_for_admin(request.user, SlaPolicy, pk)
    sla_policy_delete(acting_user=request.user, policy=policy)
    messages.success(request, _("SLA policy removed."))
    return redirect("service:settings")


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
    rule = get_for_admin(request.user, DispatchRule, pk)
    dispatch_rule_delete(acting_user=request.user, rule=rule)
    messages.success(request, _("Dispatch rule removed."))
    return redirect("service:settings")


@admin_required
def dispatch_dry_run_view(request: HttpRequest) -> HttpResponse:
    """Where the current unassigned open tickets would go under the enabled rules; nothing is changed."""
    rows = dispatch_dry_run(tenant=request.tenant)
    return render(request, "service/settings/dry_run.html", {"rows": rows})


@admin_required
@require_POST
def canned_reply_create(request: HttpRequest) -> HttpResponse:
    form = CannedReplyForm(request.POST)
    if form.is_valid():
        try:
            canned_reply_save(acting_user=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Canned reply added."))
            return redirect("service:settings")
    return _render(request, form_status(form), canned_form=form)


@tenant_required
@require_POST
def canned_reply_remove(request: HttpRequest, pk: int) -> HttpResponse:
    reply = get_for_admin(request.user, CannedReply, pk)
    canned_reply_delete(acting_user=request.user, reply=reply)
    messages.success(request, _("Canned reply removed."))
    return redirect("service:settings")
