"""Lead scoring: the tenant's rules, a lead's score and its breakdown, recomputed in SQL (inline for few leads,
by a task for many) under a shared advisory lock that rule edits take exclusively."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import OperationalError, connection, transaction
from django.db.models import BigIntegerField, Case, Func, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.access import require_admin
from crm.errors import DomainError
from crm.locks import LEAD_SCORING_RULES
from crm.models import Tenant, User
from crm.services import outbox
from crm.services.audit import audit
from sales import tasks
from sales.models import (
    VALUELESS_CONDITIONS,
    Lead,
    LeadOrigin,
    LeadScoringRule,
    LeadStatus,
    ScoringCondition,
    ScoringField,
)

logger = logging.getLogger(__name__)


# Up to this many leads, a change of the rules rescores them at once; above, a Celery job does it after commit.
RECOMPUTE_INLINE_MAX = 20_000


# How long an admin changing the rules waits for scoring in progress (an import) before being told to retry.
RULES_LOCK_TIMEOUT = "5s"


_VALUE_SEPARATORS = re.compile(r"[,，、;；\n]+")


def _rule_values(rule: LeadScoringRule) -> list[str]:
    """The values a rule compares with; for "entered through", labels in either language map to the stored code."""
    raw = [rule.value.strip()] if rule.condition != ScoringCondition.ONE_OF else _VALUE_SEPARATORS.split(rule.value)
    values = [v.strip() for v in raw if v.strip()]
    if rule.field == ScoringField.ORIGIN:
        by_label = {}
        for code, label in LeadOrigin.choices:
            by_label[code] = code
            for language in ("en", "zh-hans"):
                with translation.override(language):
                    by_label[str(label).casefold()] = code
        values = [by_label.get(v.casefold(), v) for v in values]
    return values


def rule_condition(rule: LeadScoringRule) -> Q:
    """The rule as a condition on leads (case-insensitive), so scores are computed by the database."""
    field, condition = rule.field, rule.condition
    if condition == ScoringCondition.IS_SET:
        return ~Q(**{field: ""})
    if condition == ScoringCondition.IS_EMPTY:
        return Q(**{field: ""})
    values = _rule_values(rule) or [""]
    lookup = {
        ScoringCondition.EQUALS: "iexact",
        ScoringCondition.ONE_OF: "iexact",
        ScoringCondition.CONTAINS: "icontains",
        ScoringCondition.STARTS_WITH: "istartswith",
        ScoringCondition.ENDS_WITH: "iendswith",
    }[condition]
    query = Q(**{f"{field}__{lookup}": values[0]})
    for value in values[1:]:
        query |= Q(**{f"{field}__{lookup}": value})
    return query


class _MatchedRuleIds(Func):
    """ARRAY[CASE WHEN rule1 THEN id1 END, …] without the NULLs: the rules a lead meets."""

    template = "array_remove(ARRAY[%(expressions)s]::bigint[], NULL)"
    output_field = ArrayField(BigIntegerField())


def _score_update(rules: list[LeadScoringRule]) -> dict[str, Any]:
    if not rules:
        return {"score": Value(0), "score_rules": Value([], output_field=ArrayField(BigIntegerField()))}
    points = [
        Case(When(rule_condition(r), then=Value(r.points)), default=Value(0), output_field=IntegerField())
        for r in rules
    ]
    total = points[0]
    for expression in points[1:]:
        total = total + expression
    ids = [
        Case(When(rule_condition(r), then=Value(r.pk)), default=Value(None), output_field=BigIntegerField())
        for r in rules
    ]
    return {"score": Coalesce(total, Value(0)), "score_rules": _MatchedRuleIds(*ids)}


def _rules_lock(tenant_id: int, *, shared: bool, wait: bool = True) -> None:
    """Scoring takes the tenant's rules lock shared; changing the rules takes it exclusive. A person changing the
    rules (wait=False) is not kept waiting behind a long import: after a few seconds they are told to retry."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    sql = f"SELECT {function}(%s, %s)"  # noqa: S608 - one of two fixed function names
    if wait:
        with connection.cursor() as cursor:
            cursor.execute(sql, [LEAD_SCORING_RULES, tenant_id])
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [RULES_LOCK_TIMEOUT])
            cursor.execute(sql, [LEAD_SCORING_RULES, tenant_id])
            cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
    except OperationalError as exc:
        raise DomainError(_("Leads are being imported or scored right now; try again in a minute.")) from exc


def score_leads(*, tenant_id: int, lead_ids: Iterable[int] | None = None) -> int:
    """Score leads by the tenant's active rules in ONE UPDATE (the score and the rules met); converted leads keep
    the score they had. Scoring takes the rules' lock shared, so a change of the rules waits for it and then
    rescores everything: no lead keeps a score of rules that changed meanwhile."""
    with transaction.atomic():
        _rules_lock(tenant_id, shared=True)
        rules = list(LeadScoringRule.objects.filter(tenant_id=tenant_id, is_active=True).order_by("position", "pk"))
        leads = Lead.objects.filter(tenant_id=tenant_id).exclude(status=LeadStatus.CONVERTED)
        if lead_ids is not None:
            leads = leads.filter(pk__in=list(lead_ids))
        return leads.update(**_score_update(rules), scored_at=timezone.now())


def score_breakdown(lead: Lead) -> list[LeadScoringRule]:
    """The rules behind a lead's score (as of its last scoring)."""
    if not lead.score_rules:
        return []
    rules = {r.pk: r for r in LeadScoringRule.objects.filter(tenant_id=lead.tenant_id, pk__in=lead.score_rules)}
    return [rules[pk] for pk in lead.score_rules if pk in rules]


def lead_scores_recompute(*, tenant_id: int) -> int:
    """Rescore every lead of the tenant (the job behind a change of the rules). Idempotent."""
    with transaction.atomic():
        _rules_lock(tenant_id, shared=False)
        rules = list(LeadScoringRule.objects.filter(tenant_id=tenant_id, is_active=True).order_by("position", "pk"))
        count = (
            Lead.objects.filter(tenant_id=tenant_id)
            .exclude(status=LeadStatus.CONVERTED)
            .update(**_score_update(rules), scored_at=timezone.now())
        )
    logger.info("Rescored %s leads of tenant %s", count, tenant_id)
    return count


def _after_rules_changed(tenant: Tenant) -> str:
    """Rescore at once for a modest number of leads, else in a job after commit. Returns "done" or "queued"."""
    if Lead.objects.filter(tenant=tenant).exclude(status=LeadStatus.CONVERTED)[: RECOMPUTE_INLINE_MAX + 1].count() <= (
        RECOMPUTE_INLINE_MAX
    ):
        lead_scores_recompute(tenant_id=tenant.pk)
        return "done"

    outbox.enqueue(tasks.recompute_lead_scores, tenant.pk)
    return "queued"


def _clean_rule(field: str, condition: str, value: str, points: int | None) -> tuple[str, int]:
    if field not in ScoringField.values:
        raise DomainError(_("Choose a field of the lead."), field="field")
    if condition not in ScoringCondition.values:
        raise DomainError(_("Choose a condition."), field="condition")
    value = (value or "").strip()
    if condition in VALUELESS_CONDITIONS:
        value = ""
    elif not value:
        raise DomainError(_("Enter the value to compare with."), field="value")
    if len(value) > 200:
        raise DomainError(_("Too long: at most %(max)d characters.") % {"max": 200}, field="value")
    if points is None or not -1000 <= points <= 1000 or points == 0:
        raise DomainError(_("Give between -1000 and 1000 points, not zero."), field="points")
    return value, points


def scoring_rule_save(
    *,
    acting_user: User,
    field: str,
    condition: str,
    value: str,
    points: int,
    is_active: bool = True,
    rule: LeadScoringRule | None = None,
) -> tuple[LeadScoringRule, str]:
    """Add or change a scoring rule (admins) and rescore the leads. Returns the rule and "done" or "queued"."""
    require_admin(acting_user)
    value, points = _clean_rule(field, condition, value, points)
    tenant = acting_user.tenant
    with transaction.atomic():
        _rules_lock(tenant.pk, shared=False, wait=False)
        if rule is None:
            last = LeadScoringRule.objects.filter(tenant=tenant).order_by("-position").first()
            rule = LeadScoringRule(tenant=tenant, created_by=acting_user, position=(last.position + 1) if last else 0)
            before = None
        else:
            rule = LeadScoringRule.objects.select_for_update().get(pk=rule.pk, tenant=tenant)
            before = _rule_snapshot(rule)
        rule.field, rule.condition, rule.value, rule.points, rule.is_active = field, condition, value, points, is_active
        rule.save()
        after = _rule_snapshot(rule)
        audit(
            tenant=tenant,
            actor=acting_user,
            action="lead_rule.create" if before is None else "lead_rule.update",
            obj=rule,
            details=after if before is None else {k: [before[k], after[k]] for k in after if before[k] != after[k]},
        )
        outcome = _after_rules_changed(tenant)
    return rule, outcome


def _rule_snapshot(rule: LeadScoringRule) -> dict[str, Any]:
    return {
        "field": rule.field,
        "condition": rule.condition,
        "value": rule.value,
        "points": rule.points,
        "active": rule.is_active,
    }


def scoring_rule_delete(*, acting_user: User, rule: LeadScoringRule) -> str:
    require_admin(acting_user)
    tenant = acting_user.tenant
    with transaction.atomic():
        _rules_lock(tenant.pk, shared=False, wait=False)
        audit(tenant=tenant, actor=acting_user, action="lead_rule.delete", obj=rule, details=_rule_snapshot(rule))
        LeadScoringRule.objects.filter(pk=rule.pk, tenant=tenant).delete()
        return _after_rules_changed(tenant)


def lead_scores_request_recompute(*, acting_user: User) -> str:
    """The settings page's "recompute now" button."""
    require_admin(acting_user)
    with transaction.atomic():
        _rules_lock(acting_user.tenant_id, shared=False, wait=False)
        audit(tenant=acting_user.tenant, actor=acting_user, action="lead_rule.recompute")
        return _after_rules_changed(acting_user.tenant)
