"""Lead pools (线索池): the pools a rep sees, a pool's leads (masked) with one-click claims, release into a chosen
pool, managers' assignment, and Settings → Lead pools with the rules' simulation."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, Q, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import require_admin, require_sales_user
from crm.approvals.models import ApprovalRequest
from crm.approvals.widgets import decision_context
from crm.errors import DomainError
from crm.models import Role
from crm.web import (
    PAGE_SIZE,
    CappedPaginator,
    admin_required,
    apply_domain_error,
    domain_action,
    paginate,
    selected_ids,
    tenant_required,
)
from customers.forms.extension import ExtensionRequestForm
from sales.access import get_lead_for_user
from sales.forms.lead_pool import (
    LeadExtensionQuery,
    LeadPoolAssignForm,
    LeadPoolForm,
    LeadReleaseForm,
    check_keyed_rules,
    check_source_rules,
    keyed_rules_of,
    product_rule_formset,
    source_rule_formset,
    source_rules_of,
    tag_rule_formset,
)
from sales.models import Lead, LeadExtensionRequest, LeadPool
from sales.selectors.lead_pool import lead_claims_left, lead_pool_simulate
from sales.services.lead_pool import (
    LEAD_EXTENSION_KIND,
    LeadClaimRefused,
    lead_claim,
    lead_extension_request,
    lead_pool_assign,
    lead_pool_save,
    lead_release,
)
from sales.services.lead_privacy import lead_masked


def _visible_pool(request: HttpRequest, pk: int) -> LeadPool:
    require_sales_user(request.user)
    return get_object_or_404(LeadPool.objects.visible_to(request.user), pk=pk)


@tenant_required
def lead_pool_list(request: HttpRequest) -> HttpResponse:
    """The lead pools the user may see, with how many leads wait in each and today's claims left."""
    require_sales_user(request.user)
    pools = list(
        LeadPool.objects.visible_to(request.user).annotate(
            waiting=Count(
                "leads",
                filter=Q(leads__owner__isnull=True, leads__status__in=["new", "contacted", "qualified"]),
            )
        )
    )
    return render(
        request,
        "sales/lead_pools/list.html",
        {
            "pools": pools,
            "claims_left": lead_claims_left(request.user, pools),
            "can_decide": request.user.has_any_role(Role.ADMIN, Role.MANAGER),
        },
    )


@tenant_required
@vary_on_headers("HX-Request")
def lead_pool_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A pool's waiting leads, newest first, their phone, email and WeChat masked; claim buttons and claims left."""
    pool = _visible_pool(request, pk)
    leads_qs = Lead.objects.in_pools_for(request.user).filter(pool=pool).order_by("-created_at", "-pk")
    page = CappedPaginator(leads_qs, PAGE_SIZE).get_page(request.GET.get("page"))
    leads = list(page)
    left = lead_claims_left(request.user, [pool])
    used_up = any(c.left == 0 for c in left)
    for lead in leads:
        lead.masked = lead_masked(lead)
        lead.phone = lead.email = lead.wechat = ""  # the unmasked values never reach the template
    context = {
        "pool": pool,
        "page": page,
        "leads": leads,
        "claims_left": left,
        "claims_used_up": used_up,
        "can_assign": request.user.has_any_role(Role.ADMIN, Role.MANAGER),
    }
    template = (
        "sales/lead_pools/partials/results.html"
        if request.htmx and not request.htmx.boosted
        else "sales/lead_pools/detail.html"
    )
    return render(request, template, context)


@tenant_required
@require_POST
def lead_pool_claim(request: HttpRequest, pk: int) -> HttpResponse:
    """One click claims (htmx swaps the cell); the answer says at once if a colleague was faster or which rule
    stops the claim."""
    try:
        lead = lead_claim(rep=request.user, lead_id=pk)
    except Lead.DoesNotExist as exc:
        raise Http404 from exc
    except LeadClaimRefused as exc:
        if request.htmx:
            return render(request, "sales/lead_pools/partials/claim_result.html", {"error": exc.message, "pk": pk})
        messages.error(request, exc.message)
        return redirect("sales:lead_pool_list")
    if request.htmx:
        context = {"lead": lead, "pk": pk, "claims_left": lead_claims_left(request.user, [lead.pool]), "oob": True}
        return render(request, "sales/lead_pools/partials/claim_result.html", context)
    messages.success(request, _("%(name)s is now yours.") % {"name": lead.name})
    return redirect("sales:lead_detail", pk=lead.pk)


@tenant_required
@require_http_methods(["GET", "POST"])
def lead_release_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner releases a lead into a lead pool of their choice (the home pool preselected), with a reason; then
    back to the lead list, since the lead is no longer theirs to open."""
    lead = get_lead_for_user(request.user, pk)
    if lead.owner_id != request.user.pk:
        raise PermissionDenied(_("Only the owner releases a lead to a lead pool."))
    form = LeadReleaseForm(request.POST or None, user=request.user, lead=lead)
    if request.method == "POST" and form.is_valid():
        pool = form.cleaned_data["pool"]
        try:
            lead_release(acting_user=request.user, lead=lead, pool=pool, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(
                request, _("%(name)s went to the lead pool “%(pool)s”.") % {"name": lead.name, "pool": pool.name}
            )
            return redirect("sales:lead_list")
    return render(
        request, "sales/lead_pools/release.html", {"form": form, "lead": lead}, status=422 if form.errors else 200
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def lead_pool_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Managers hand the chosen leads of a pool to a rep of their team."""
    pool = _visible_pool(request, pk)
    if not request.user.has_any_role(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(_("Only managers and administrators assign pool leads."))
    _raw, wanted = selected_ids(request, limit=200)
    chosen = list(Lead.objects.in_pools_for(request.user).filter(pool=pool, pk__in=wanted))
    confirming = request.method == "POST" and "rep" in request.POST
    form = LeadPoolAssignForm(request.POST if confirming else None, user=request.user)
    if confirming and form.is_valid():
        try:
            count = lead_pool_assign(
                acting_user=request.user, lead_ids=[lead.pk for lead in chosen], rep=form.cleaned_data["rep"]
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("%(count)d leads assigned to %(name)s.")
                % {"count": count, "name": form.cleaned_data["rep"].full_name},
            )
            return redirect("sales:lead_pool_detail", pk=pool.pk)
    return render(
        request,
        "sales/lead_pools/assign.html",
        {"form": form, "pool": pool, "chosen": chosen, "ids": ",".join(str(lead.pk) for lead in chosen)},
        status=422 if form.errors else 200,
    )


# --- Settings → Lead pools ---------------------------------------------------------------------------------------


@admin_required
def lead_pool_settings(request: HttpRequest) -> HttpResponse:
    pools = list(
        LeadPool.objects.for_tenant(request.tenant)
        .prefetch_related("teams")
        .annotate(waiting=Count("leads", filter=Q(leads__owner__isnull=True)))
    )
    return render(request, "sales/lead_pools/settings_list.html", {"pools": pools})


def _simulation(pool: LeadPool, form: LeadPoolForm | None, rules, product_rules=None, tag_rules=None) -> dict:
    """The simulation of the saved rules (no form) or of the valid values on the screen, unsaved."""
    if form is None:
        return {"sim": lead_pool_simulate(pool)}
    if not form.is_valid() or not all(f.is_valid() for f in (rules, product_rules, tag_rules)):
        return {"sim": None, "sim_invalid": True}
    data = form.cleaned_data
    overrides = {
        "no_followup_days": data.get("no_followup_days"),
        "no_conversion_days": data.get("no_conversion_days"),
        "source_rules": source_rules_of(rules),
        "product_rules": keyed_rules_of(product_rules),
        "tag_rules": keyed_rules_of(tag_rules),
    }
    return {"sim": lead_pool_simulate(pool, overrides=overrides, warn_days_before=data.get("warn_days_before") or 0)}


def _settings_page(request: HttpRequest, pool: LeadPool | None) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = LeadPoolForm(data, instance=pool, tenant=request.tenant)
    rules = source_rule_formset(pool, data)
    product_rules = product_rule_formset(pool, request.tenant, data)
    tag_rules = tag_rule_formset(pool, request.tenant, data)
    formsets = [rules, product_rules, tag_rules]
    if data is not None and form.is_valid() and all(f.is_valid() for f in formsets):
        check_source_rules(rules)
        check_keyed_rules(product_rules)
        check_keyed_rules(tag_rules)
        if all(f.is_valid() for f in formsets):
            try:
                saved = lead_pool_save(
                    acting_user=request.user,
                    pool=pool,
                    values=form.cleaned_data,
                    teams=list(form.cleaned_data["teams"]),
                    source_rules=source_rules_of(rules),
                    product_rules=keyed_rules_of(product_rules),
                    tag_rules=keyed_rules_of(tag_rules),
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(request, _("Lead pool %(name)s saved.") % {"name": saved.name})
                return redirect("sales:lead_pool_settings")
    context = {"form": form, "rules": rules, "product_rules": product_rules, "tag_rules": tag_rules, "pool": pool}
    if pool is not None:
        context.update(_simulation(pool, None, None))
    invalid = data is not None and (
        form.errors
        or any(f.errors for formset in formsets for f in formset.forms)
        or any(formset.non_form_errors() for formset in formsets)
    )
    return render(request, "sales/lead_pools/settings_form.html", context, status=422 if invalid else 200)


@admin_required
@require_http_methods(["GET", "POST"])
def lead_pool_settings_create(request: HttpRequest) -> HttpResponse:
    return _settings_page(request, None)


@tenant_required
@require_http_methods(["GET", "POST"])
def lead_pool_settings_edit(request: HttpRequest, pk: int) -> HttpResponse:
    # Another tenant's pool is 404 for everyone; then only admins may edit.
    pool = get_object_or_404(LeadPool.objects.for_tenant(request.tenant), pk=pk)
    require_admin(request.user)
    return _settings_page(request, pool)


@tenant_required
@require_POST
def lead_pool_settings_simulate(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: what the job and the warnings would do with the values on the form, nothing saved."""
    pool = get_object_or_404(LeadPool.objects.for_tenant(request.tenant).select_related("tenant"), pk=pk)
    require_admin(request.user)
    form = LeadPoolForm(request.POST, instance=LeadPool(tenant=request.tenant), tenant=request.tenant)
    rules = source_rule_formset(pool, request.POST)
    product_rules = product_rule_formset(pool, request.tenant, request.POST)
    tag_rules = tag_rule_formset(pool, request.tenant, request.POST)
    return render(
        request,
        "sales/lead_pools/partials/simulation.html",
        {"pool": pool, **_simulation(pool, form, rules, product_rules, tag_rules)},
    )


@tenant_required
@require_POST
def lead_extension_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner asks for more time before the lead falls back; back to the lead with what happened."""
    lead = get_lead_for_user(request.user, pk)
    form = ExtensionRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you need more time."))
    else:
        return domain_action(
            request,
            lambda: lead_extension_request(acting_user=request.user, lead=lead, reason=form.cleaned_data["reason"]),
            success=_("Your manager was asked to extend %(name)s.") % {"name": lead.name},
            then=reverse("sales:lead_detail", kwargs={"pk": lead.pk}),
        )
    return redirect("sales:lead_detail", pk=lead.pk)


@tenant_required
def lead_extensions(request: HttpRequest) -> HttpResponse:
    """Managers' list of lead extension requests (of the leads they see): pending first by default, filtered by
    status, rep and pool, each pending one with its approval's decision (the approvals engine) in place."""
    if not request.user.has_any_role(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(_("Only managers and administrators decide extensions."))
    query = LeadExtensionQuery(request.GET, user=request.user)
    qs = query.filter(
        LeadExtensionRequest.objects.for_tenant(request.tenant)
        .filter(lead__in=Lead.objects.visible_to(request.user).values("pk"))
        .select_related("lead__pool", "requested_by")
        .order_by(Case(When(status="pending", then=0), default=1), "-created_at", "-pk")
    )
    page = paginate(request, qs)
    ids = [r.pk for r in page]
    approvals = {
        a.object_id: a
        for a in ApprovalRequest.objects.for_tenant(request.tenant)
        .filter(kind=LEAD_EXTENSION_KIND, object_id__in=ids)
        .select_related("decided_by")
        .order_by("created_at", "pk")
    }
    waiting = set(
        ApprovalRequest.objects.waiting_for(request.user)
        .filter(pk__in=[a.pk for a in approvals.values()])
        .values_list("pk", flat=True)
    )
    back = request.get_full_path()
    for r in page:
        r.approval = approvals.get(r.pk)
        if r.approval is not None:
            r.decision = decision_context(r.approval, decidable=r.approval.pk in waiting, next=back)
    return render(request, "sales/lead_pools/extensions.html", {"page": page, "query": query})
