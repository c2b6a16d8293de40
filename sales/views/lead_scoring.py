"""Settings → lead scoring (admins): rules and recompute."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.errors import DomainError
from crm.web import admin_required, apply_domain_error, domain_action, form_status, tenant_required
from sales.access import get_scoring_rule_for_admin
from sales.forms.lead_scoring import ScoringRuleForm
from sales.models import Lead, LeadScoringRule, LeadStatus
from sales.services.lead_scoring import (
    lead_scores_request_recompute,
    rule_condition,
    scoring_rule_delete,
    scoring_rule_save,
)


def _recompute_message(request: HttpRequest, outcome: str) -> None:
    if outcome == "queued":
        messages.info(request, _("The leads are being rescored in the background."))
    else:
        messages.success(request, _("Every lead was rescored."))


@admin_required
@require_http_methods(["GET", "POST"])
def scoring_rules(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    form = ScoringRuleForm(request.POST or None, initial={"is_active": True, "points": 10})
    if request.method == "POST" and form.is_valid():
        try:
            _rule, outcome = scoring_rule_save(acting_user=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Rule added."))
            _recompute_message(request, outcome)
            return redirect("sales:scoring_rules")
    rules = list(LeadScoringRule.objects.for_tenant(tenant).order_by("position", "pk"))
    # How many open leads each rule matches now: one query for all the rules.
    open_leads = Lead.objects.for_tenant(tenant).exclude(status=LeadStatus.CONVERTED)
    matches = {}
    if rules:
        counts = open_leads.aggregate(
            **{f"r{r.pk}": Count("pk", filter=rule_condition(r)) for r in rules}, total=Count("pk")
        )
        matches = {r.pk: counts[f"r{r.pk}"] for r in rules}
        total = counts["total"]
    else:
        total = open_leads.count()
    for rule in rules:
        rule.matches = matches.get(rule.pk, 0)
    latest = open_leads.order_by("-scored_at").values_list("scored_at", flat=True).first()
    context = {"form": form, "rules": rules, "total": total, "scored_at": latest}
    return render(request, "sales/settings/scoring.html", context, status=form_status(form))


@tenant_required
@require_http_methods(["GET", "POST"])
def scoring_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_scoring_rule_for_admin(request.user, pk)
    form = ScoringRuleForm.for_rule(rule, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _rule, outcome = scoring_rule_save(acting_user=request.user, rule=rule, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Rule saved."))
            _recompute_message(request, outcome)
            return redirect("sales:scoring_rules")
    return render(request, "sales/settings/scoring_rule.html", {"form": form, "rule": rule}, status=form_status(form))


@tenant_required
@require_POST
def scoring_rule_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_scoring_rule_for_admin(request.user, pk)

    def delete() -> None:
        outcome = scoring_rule_delete(acting_user=request.user, rule=rule)
        messages.success(request, _("Rule deleted."))
        _recompute_message(request, outcome)

    return domain_action(request, delete, then="sales:scoring_rules")


@admin_required
@require_POST
def scoring_recompute(request: HttpRequest) -> HttpResponse:
    return domain_action(
        request,
        lambda: _recompute_message(request, lead_scores_request_recompute(acting_user=request.user)),
        then="sales:scoring_rules",
    )
