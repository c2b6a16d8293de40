"""Settings → pools (admins), with the live simulation of their rules."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.errors import DomainError
from crm.models import Role
from crm.web import admin_required, apply_domain_error, tenant_required
from customers.forms.pool import PoolForm, PoolSimulationForm, ViewQuotaForm, level_rule_rows
from customers.models import Customer, CustomerLevel, Pool, ViewQuota
from customers.selectors.simulation import overrides_of, simulate
from customers.services.pool_settings import save_level_rules
from customers.services.view_quota import view_quota_delete, view_quota_save


@admin_required
def pool_settings_list(request: HttpRequest) -> HttpResponse:
    pools = list(Pool.objects.for_tenant(request.tenant).prefetch_related("teams").order_by("-is_default", "name"))
    counts = dict(
        Customer.objects.filter(tenant=request.tenant, owner__isnull=True, deleted_at__isnull=True)
        .values_list("pool")
        .annotate(n=Count("pk"))
    )
    for p in pools:
        p.waiting = counts.get(p.pk, 0)
    return render(request, "customers/pool/settings_list.html", {"pools": pools})


def _pool_form_page(request: HttpRequest, pool: Pool | None) -> HttpResponse:
    tenant = request.tenant
    levels = list(CustomerLevel.objects.for_tenant(tenant))
    form = PoolForm(request.POST or None, instance=pool, tenant=tenant)
    rules = level_rule_rows(levels, pool, request.POST if request.method == "POST" else None)
    rule_errors = [r for r in rules if r["error"]]
    if request.method == "POST" and form.is_valid() and not rule_errors:
        try:
            saved = save_level_rules(form=form, rules=rules, acting_user=request.user)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Pool %(name)s saved.") % {"name": saved.name})
            return redirect("pool_settings:list")
    context = {"form": form, "pool": pool, "rules": rules}
    if pool is not None:
        context.update(_simulation_context(pool, levels, request.POST if request.method == "POST" else None))
    return render(
        request,
        "customers/pool/settings_form.html",
        context,
        status=422 if form.errors or rule_errors else 200,
    )


def _simulation_context(pool: Pool, levels, data) -> dict:
    """The simulation of the pool's rules: the saved ones (`data` None) or the values on the screen, unsaved."""
    if data is None:
        return {"sim": simulate(pool), "sim_errors": []}
    form = PoolSimulationForm(data)
    rows = level_rule_rows(levels, pool, data)
    errors = [
        f"{form.fields[name].label}: {' '.join(errs)}" for name, errs in form.errors.items() if name in form.fields
    ]
    errors += [f"{row['level']}: {row['error']}" for row in rows if row["error"]]
    if errors:
        return {"sim": None, "sim_errors": errors}
    level_rules = {
        row["level"].pk: tuple(int(row[key]) if row[key] else None for key in ("followup", "deal", "contract"))
        for row in rows
    }
    overrides = overrides_of(form.cleaned_data, level_rules)
    return {
        "sim": simulate(pool, overrides=overrides, warn_days_before=form.cleaned_data.get("warn_days_before") or 0),
        "sim_errors": [],
    }


@tenant_required
@require_POST
def pool_settings_simulate(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: re-simulate the pool's rules with the values on the form, without saving anything."""
    pool = get_object_or_404(Pool.objects.for_tenant(request.tenant).select_related("tenant"), pk=pk)
    if not request.user.has_any_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators of this company may open this page."))
    levels = list(CustomerLevel.objects.for_tenant(request.tenant))
    context = {"pool": pool, **_simulation_context(pool, levels, request.POST)}
    return render(request, "customers/pool/partials/simulation.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def pool_settings_create(request: HttpRequest) -> HttpResponse:
    return _pool_form_page(request, None)


@tenant_required
@require_http_methods(["GET", "POST"])
def pool_settings_edit(request: HttpRequest, pk: int) -> HttpResponse:
    # Another tenant's pool is 404 for everyone; then only admins may edit.
    pool = get_object_or_404(Pool.objects.for_tenant(request.tenant), pk=pk)
    if not request.user.has_any_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators of this company may open this page."))
    return _pool_form_page(request, pool)


@admin_required
@require_http_methods(["GET", "POST"])
def view_quotas(request: HttpRequest) -> HttpResponse:
    """Settings → pools → daily view quotas per role and per team: the list and a form to add one."""
    return _view_quota_page(request, None)


def _quota_for_admin(request: HttpRequest, pk: int) -> ViewQuota:
    """Another tenant's quota is missing (404) whoever asks; one's own, for administrators only (403)."""
    quota = get_object_or_404(ViewQuota.objects.for_tenant(request.tenant), pk=pk)
    if not request.user.has_any_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators of this company may open this page."))
    return quota


@tenant_required
@require_http_methods(["GET", "POST"])
def view_quota_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _view_quota_page(request, _quota_for_admin(request, pk))


@require_POST
@tenant_required
def view_quota_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    quota = _quota_for_admin(request, pk)
    view_quota_delete(acting_user=request.user, quota=quota)
    messages.success(request, _("Quota removed."))
    return redirect("pool_settings:view_quotas")


def _view_quota_page(request: HttpRequest, quota: ViewQuota | None) -> HttpResponse:
    initial = {"role": quota.role, "team": quota.team_id, "daily_limit": quota.daily_limit} if quota else None
    form = ViewQuotaForm(request.POST or None, tenant=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            view_quota_save(
                acting_user=request.user,
                quota=quota,
                role=form.cleaned_data.get("role") or "",
                team=form.cleaned_data.get("team"),
                daily_limit=form.cleaned_data["daily_limit"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Quota saved."))
            return redirect("pool_settings:view_quotas")
    quotas = list(ViewQuota.objects.for_tenant(request.tenant).select_related("team"))
    return render(
        request,
        "customers/pool/view_quotas.html",
        {"form": form, "quota": quota, "quotas": quotas},
        status=422 if form.errors else 200,
    )
