"""Managing assignment rules (admins): save, switch on and off, reorder, delete; the tenant's unmatched pool."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import require_tenant_admin
from crm.errors import DomainError
from crm.models import Team, Tenant, User
from crm.services.audit import audit
from customers.models import (
    AssignmentRule,
    AssignmentRuleLevel,
    AssignmentRuleTag,
    AssignmentSettings,
    ChoiceKind,
    CustomerLevel,
    Pool,
    Tag,
)
from customers.normalize import nfkc
from customers.selectors.choice_list import ChoiceLookup
from customers.services.assignment import MAX_VALUE_LENGTH, MAX_VALUES, normalize_value


def _clean_values(values: Iterable[str], field_name: str) -> list[str]:
    cleaned: list[str] = []
    seen: set[str] = set()
    for value in values:
        text = nfkc(value)
        if not text:
            continue
        if len(text) > MAX_VALUE_LENGTH:
            raise DomainError(
                _("“%(value)s” is longer than %(max)d characters.") % {"value": text, "max": MAX_VALUE_LENGTH},
                field=field_name,
            )
        if normalize_value(text) not in seen:
            seen.add(normalize_value(text))
            cleaned.append(text)
    if len(cleaned) > MAX_VALUES:
        raise DomainError(_("List at most %(max)d values.") % {"max": MAX_VALUES}, field=field_name)
    return cleaned


def _listed_values(tenant: Tenant, rule, values: list[str], field_name: str, kind: str) -> list[str]:
    """Region and industry values in the company's value list's spelling (an alias such as 上海 becomes 上海市); a
    list that accepts nothing else refuses other values, except those the rule has from before."""
    lookup = ChoiceLookup(tenant)
    kept = set(getattr(rule, field_name, None) or []) if rule is not None else set()
    resolved = []
    for value in values:
        if value in kept:
            resolved.append(value)
            continue
        value, error = lookup.resolve(kind, value)
        if error:
            raise DomainError(error, field=field_name)
        if value not in resolved:
            resolved.append(value)
    return resolved


def _check_rule_refs(tenant: Tenant, *, team, levels, tags, overflow_pool) -> None:
    if team is None or team.tenant_id != tenant.pk:
        raise DomainError(_("Choose a team of your company."), field="team")
    if any(level.tenant_id != tenant.pk for level in levels):
        raise DomainError(_("Choose levels of your company."), field="levels")
    if any(tag.tenant_id != tenant.pk for tag in tags):
        raise DomainError(_("Choose tags of your company."), field="tags")
    if overflow_pool is not None and overflow_pool.tenant_id != tenant.pk:
        raise DomainError(_("Choose a pool of your company."), field="overflow_pool")


def rule_save(
    *,
    acting_user: User,
    tenant: Tenant,
    rule: AssignmentRule | None = None,
    name: str,
    applies_to: str,
    team: Team,
    method: str,
    include_subteams: bool = True,
    sources: Iterable[str] = (),
    regions: Iterable[str] = (),
    industries: Iterable[str] = (),
    levels: Iterable[CustomerLevel] = (),
    tags: Iterable[Tag] = (),
    daily_quota: int | None = None,
    overflow_pool: Pool | None = None,
) -> AssignmentRule:
    """Create a rule (disabled, last in the order: the admin enables it after reading its dry run) or change one."""
    require_tenant_admin(acting_user, tenant)
    if rule is not None and rule.tenant_id != tenant.pk:
        raise DomainError(_("This rule no longer exists."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the rule a name."), field="name")
    if applies_to not in AssignmentRule.AppliesTo.values:
        raise DomainError(_("Choose what the rule applies to."), field="applies_to")
    if method not in AssignmentRule.Method.values:
        raise DomainError(_("Choose how the rule picks a rep."), field="method")
    if daily_quota is not None and daily_quota < 1:
        raise DomainError(_("A daily quota is at least 1, or empty for none."), field="daily_quota")
    levels, tags = list(levels), list(tags)
    _check_rule_refs(tenant, team=team, levels=levels, tags=tags, overflow_pool=overflow_pool)
    values = {
        "name": name,
        "applies_to": applies_to,
        "team": team,
        "method": method,
        "include_subteams": include_subteams,
        "sources": _clean_values(sources, "sources"),
        "regions": _listed_values(tenant, rule, _clean_values(regions, "regions"), "regions", ChoiceKind.REGION),
        "industries": _listed_values(
            tenant, rule, _clean_values(industries, "industries"), "industries", ChoiceKind.INDUSTRY
        ),
        "daily_quota": daily_quota,
        "overflow_pool": overflow_pool,
    }
    try:
        with transaction.atomic():
            if rule is None:
                last = AssignmentRule.objects.filter(tenant=tenant).aggregate(m=Max("order"))["m"]
                rule = AssignmentRule(tenant=tenant, created_by=acting_user, order=0 if last is None else last + 1)
                before = {}
                action = "assignment.rule.create"
            else:
                rule = AssignmentRule.objects.select_for_update().get(pk=rule.pk, tenant=tenant)
                before = {k: _display(getattr(rule, k)) for k in values}
                before["levels"] = sorted(rule.levels.values_list("pk", flat=True))
                before["tags"] = sorted(rule.tags.values_list("pk", flat=True))
                action = "assignment.rule.update"
            for key, value in values.items():
                setattr(rule, key, value)
            rule.save()
            AssignmentRuleLevel.objects.filter(rule=rule).exclude(level__in=levels).delete()
            AssignmentRuleLevel.objects.bulk_create(
                [AssignmentRuleLevel(tenant=tenant, rule=rule, level=level) for level in levels], ignore_conflicts=True
            )
            AssignmentRuleTag.objects.filter(rule=rule).exclude(tag__in=tags).delete()
            AssignmentRuleTag.objects.bulk_create(
                [AssignmentRuleTag(tenant=tenant, rule=rule, tag=tag) for tag in tags], ignore_conflicts=True
            )
            after = {k: _display(getattr(rule, k)) for k in values}
            after["levels"] = sorted(level.pk for level in levels)
            after["tags"] = sorted(tag.pk for tag in tags)
            changes = {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}
            if changes:
                audit(tenant=tenant, actor=acting_user, action=action, obj=rule, details=changes)
    except IntegrityError as exc:
        raise DomainError(_("A rule with this name already exists."), field="name") from exc
    return rule


def _display(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def rule_set_active(*, acting_user: User, rule: AssignmentRule, active: bool) -> AssignmentRule:
    require_tenant_admin(acting_user, rule.tenant)
    with transaction.atomic():
        updated = AssignmentRule.objects.filter(pk=rule.pk, tenant_id=rule.tenant_id).exclude(active=active)
        if updated.update(active=active, updated_at=timezone.now()):
            audit(
                tenant=rule.tenant,
                actor=acting_user,
                action="assignment.rule.enable" if active else "assignment.rule.disable",
                obj=rule,
            )
    rule.refresh_from_db()
    return rule


def rule_move(*, acting_user: User, rule: AssignmentRule, up: bool) -> AssignmentRule:
    """Swap the rule with its neighbour in the order (the order is renumbered 0, 1, 2… on the way)."""
    require_tenant_admin(acting_user, rule.tenant)
    with transaction.atomic():
        rules = list(
            AssignmentRule.objects.filter(tenant_id=rule.tenant_id).select_for_update().order_by("order", "pk")
        )
        index = next((i for i, r in enumerate(rules) if r.pk == rule.pk), None)
        if index is None:
            raise DomainError(_("This rule no longer exists."))
        other = index - 1 if up else index + 1
        if 0 <= other < len(rules):
            rules[index], rules[other] = rules[other], rules[index]
            for position, r in enumerate(rules):
                if r.order != position:
                    AssignmentRule.objects.filter(pk=r.pk).update(order=position, updated_at=timezone.now())
            audit(
                tenant=rule.tenant,
                actor=acting_user,
                action="assignment.rule.move",
                obj=rule,
                details={"position": other + 1},
            )
    rule.refresh_from_db()
    return rule


def rule_delete(*, acting_user: User, rule: AssignmentRule) -> None:
    require_tenant_admin(acting_user, rule.tenant)
    with transaction.atomic():
        audit(
            tenant=rule.tenant,
            actor=acting_user,
            action="assignment.rule.delete",
            obj=rule,
            details={"name": rule.name},
        )
        AssignmentRule.objects.filter(pk=rule.pk, tenant_id=rule.tenant_id).delete()


def settings_save(*, acting_user: User, tenant: Tenant, unmatched_pool: Pool | None) -> AssignmentSettings:
    require_tenant_admin(acting_user, tenant)
    if unmatched_pool is not None and unmatched_pool.tenant_id != tenant.pk:
        raise DomainError(_("Choose a pool of your company."), field="unmatched_pool")
    with transaction.atomic():
        settings_row, _created = AssignmentSettings.objects.select_for_update().get_or_create(tenant=tenant)
        if settings_row.unmatched_pool_id != (unmatched_pool.pk if unmatched_pool else None):
            audit(
                tenant=tenant,
                actor=acting_user,
                action="assignment.settings",
                details={
                    "unmatched_pool": [settings_row.unmatched_pool_id, unmatched_pool.pk if unmatched_pool else None]
                },
            )
            settings_row.unmatched_pool = unmatched_pool
            settings_row.save()
    return settings_row
