"""Settings → assignment rules (admins): list, edit, dry run, enable, apply to the backlog."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.errors import DomainError
from crm.web import admin_required, apply_domain_error, domain_action, tenant_required
from customers.access import get_rule_for_admin
from customers.forms.assignment import AssignmentRuleForm, AssignmentSettingsForm, BacklogApplyForm, PoolParamForm
from customers.forms.customer import INDUSTRIES, SOURCES
from customers.models import AssignmentRule, AssignmentSettings, Customer, CustomerLevel, Pool, Tag
from customers.selectors.choice_list import ChoiceLookup
from customers.services.assignment import RECORD_KINDS, RuleSpec, assigned_today, rules_of, unmatched_pool
from customers.services.assignment_backlog import backlog_apply, backlog_dry_run
from customers.services.assignment_rule import rule_delete, rule_move, rule_save, rule_set_active, settings_save

REGIONS_SHOWN = 100


def _datalists(tenant) -> dict[str, list[str]]:
    """Suggestions for the value fields: the company's value lists plus what the tenant's customers use."""
    live = Customer.objects.filter(tenant=tenant, deleted_at__isnull=True).order_by()
    lookup = ChoiceLookup(tenant)

    def listed(kind: str) -> list[str]:
        return [value for value, _label in lookup.options(kind)]

    def used(field_name: str) -> list[str]:
        return list(live.exclude(**{field_name: ""}).values_list(field_name, flat=True).distinct()[:REGIONS_SHOWN])

    return {
        "sources-options": sorted(set(listed("source") or SOURCES) | set(used("source"))),
        "regions-options": sorted(set(listed("region")) | set(used("region"))),
        "industries-options": sorted(set(listed("industry") or INDUSTRIES) | set(used("industry"))),
    }


def _describe(spec: RuleSpec, levels: dict[int, str], tags: dict[int, str], rule: AssignmentRule) -> list:
    """The rule's conditions as (label, values) pairs for the list."""
    parts = []
    if rule.sources:
        parts.append((_("Source"), ", ".join(rule.sources)))
    if rule.regions:
        parts.append((_("Region"), ", ".join(rule.regions)))
    if rule.industries:
        parts.append((_("Industry"), ", ".join(rule.industries)))
    if spec.level_ids:
        parts.append((_("Level"), ", ".join(sorted(levels.get(pk, "?") for pk in spec.level_ids))))
    if spec.tag_ids:
        parts.append((_("Tag"), ", ".join(sorted(tags.get(pk, "?") for pk in spec.tag_ids))))
    return parts


def _list_context(request: HttpRequest, settings_form: AssignmentSettingsForm | None = None) -> dict:
    tenant = request.tenant
    pairs = rules_of(tenant, active_only=False)
    levels = {lvl.pk: lvl.code for lvl in CustomerLevel.objects.for_tenant(tenant)}
    tags = {t.pk: t.name for t in Tag.objects.for_tenant(tenant)}
    today = assigned_today(tenant)
    pools = {p.pk: p for p in Pool.objects.for_tenant(tenant)}
    rows = [
        {
            "rule": rule,
            "conditions": _describe(spec, levels, tags, rule),
            "today": today.get(rule.pk, 0),
            "overflow_pool": pools.get(rule.overflow_pool_id),
        }
        for rule, spec in pairs
    ]
    if settings_form is None:
        current = AssignmentSettings.objects.filter(tenant=tenant).first()
        settings_form = AssignmentSettingsForm(
            tenant=tenant, initial={"unmatched_pool": current.unmatched_pool_id if current else None}
        )
    return {"rows": rows, "settings_form": settings_form, "unmatched_pool": unmatched_pool(tenant)}


@admin_required
def rule_list(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/assignment/list.html", _list_context(request))


@admin_required
@require_POST
def settings_update(request: HttpRequest) -> HttpResponse:
    form = AssignmentSettingsForm(request.POST, tenant=request.tenant)
    if form.is_valid():
        try:
            settings_save(
                acting_user=request.user, tenant=request.tenant, unmatched_pool=form.cleaned_data["unmatched_pool"]
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Assignment settings saved."))
            return redirect("assignment:list")
    return render(request, "customers/assignment/list.html", _list_context(request, form), status=422)


def _rule_form_page(request: HttpRequest, rule: AssignmentRule | None) -> HttpResponse:
    tenant = request.tenant
    posted = request.method == "POST"
    form = AssignmentRuleForm(request.POST if posted else None, tenant=tenant, rule=rule)
    previewing = posted and (bool(request.htmx) or "_dry_run" in request.POST)
    dry = None
    if posted and not previewing and form.is_valid():
        try:
            saved = rule_save(acting_user=request.user, tenant=tenant, rule=rule, **form.rule_values())
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            if rule is None:
                messages.success(
                    request,
                    _("Rule %(name)s saved, not enabled yet. Read its dry run, then enable it.") % {"name": saved.name},
                )
                return redirect("assignment:enable", pk=saved.pk)
            messages.success(request, _("Rule %(name)s saved.") % {"name": saved.name})
            return redirect("assignment:list")
    if posted and form.dry_run_ready():
        pool = form.cleaned_data.get("backlog_pool")
        dry = backlog_dry_run(tenant=tenant, rule=form.spec(), pool_id=pool.pk if pool else None)
    elif not posted and rule is not None:
        dry = backlog_dry_run(tenant=tenant, rule=RuleSpec.of(rule))
    context = {"form": form, "rule": rule, "dry": dry, "previewing": previewing}
    if request.htmx and previewing:
        # The form's errors, if any, are shown in the panel: a half-filled form answers 200 so htmx swaps it.
        return render(request, "customers/assignment/partials/dry_run.html", context)
    context["datalists"] = _datalists(tenant)
    status = 422 if posted and not previewing and form.errors else 200
    return render(request, "customers/assignment/form.html", context, status=status)


@admin_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_form_page(request, None)


@tenant_required
@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _rule_form_page(request, get_rule_for_admin(request.user, pk))


def _pool_param(request: HttpRequest) -> Pool | None:
    data = request.POST if "pool" in request.POST else request.GET
    return PoolParamForm(data, queryset=Pool.objects.for_tenant(request.tenant)).value("pool")


@tenant_required
@require_http_methods(["GET", "POST"])
def rule_enable(request: HttpRequest, pk: int) -> HttpResponse:
    """Enabling shows the rule's dry run first; the POST enables it."""
    rule = get_rule_for_admin(request.user, pk)
    if request.method == "POST":
        rule_set_active(acting_user=request.user, rule=rule, active=True)
        messages.success(
            request, _("Rule %(name)s is enabled: new customers and leads it matches go by it.") % {"name": rule.name}
        )
        return redirect("assignment:list")
    pool = _pool_param(request)
    dry = backlog_dry_run(tenant=request.tenant, rule=RuleSpec.of(rule), pool_id=pool.pk if pool else None)
    pools = Pool.objects.for_tenant(request.tenant)
    return render(request, "customers/assignment/enable.html", {"rule": rule, "dry": dry, "pool": pool, "pools": pools})


@tenant_required
@require_POST
def rule_disable(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_admin(request.user, pk)
    rule_set_active(acting_user=request.user, rule=rule, active=False)
    messages.success(request, _("Rule %(name)s is disabled.") % {"name": rule.name})
    return redirect("assignment:list")


@tenant_required
@require_http_methods(["GET", "POST"])
def rule_apply(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply the rule to the records its dry run shows: the dry run, then one confirmed POST."""
    rule = get_rule_for_admin(request.user, pk)
    pool = _pool_param(request)
    spec = RuleSpec.of(rule)
    form = BacklogApplyForm(request.POST if request.method == "POST" else None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            plan = backlog_apply(
                acting_user=request.user, rule=rule, ids=form.cleaned_data["ids"], pool_id=pool.pk if pool else None
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            given = len(plan.assigned)
            messages.success(
                request,
                _("%(count)d records were given out by rule %(name)s; each new owner was notified.")
                % {"count": given, "name": rule.name},
            )
            return redirect("assignment:list")
    dry = backlog_dry_run(tenant=request.tenant, rule=spec, pool_id=pool.pk if pool else None)
    if not form.is_bound:
        form = BacklogApplyForm(
            tenant=request.tenant,
            initial={
                "pool": pool.pk if pool else None,
                "ids": BacklogApplyForm.encode(
                    {kind: [r.item.pk for r in dry.assigned if r.item.kind == kind] for kind in RECORD_KINDS}
                ),
            },
        )
    pools = Pool.objects.for_tenant(request.tenant)
    return render(
        request,
        "customers/assignment/apply.html",
        {"rule": rule, "dry": dry, "form": form, "pool": pool, "pools": pools},
        status=422 if form.errors else 200,
    )


@tenant_required
@require_POST
def rule_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_admin(request.user, pk)
    return domain_action(
        request,
        lambda: rule_move(acting_user=request.user, rule=rule, up=request.POST.get("direction") != "down"),
        then="assignment:list",
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_rule_for_admin(request.user, pk)
    if request.method == "POST":
        rule_delete(acting_user=request.user, rule=rule)
        messages.success(request, _("Rule %(name)s deleted.") % {"name": rule.name})
        return redirect("assignment:list")
    return render(request, "customers/assignment/delete.html", {"rule": rule})
