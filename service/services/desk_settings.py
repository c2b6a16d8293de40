"""Admins' writes of the service-desk settings: the desk's settings, categories, SLA policies, dispatch rules and
canned replies. Each checks the admin, validates (model constraints through full_clean), audits."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import User
from crm.services import outbox
from crm.services.audit import audit
from service import tasks
from service.models import CannedReply, DispatchRule, ServiceSettings, SlaPolicy, TicketCategory
from service.services.dispatch import service_settings


def _save(acting_user: User, obj, action: str, *, duplicate: str) -> None:
    """full_clean (constraints included) and save, in the caller's transaction; a clash is a DomainError."""
    try:
        obj.full_clean(exclude=["tenant", "created_by"], validate_unique=False)
        with transaction.atomic():
            obj.save()
    except ValidationError as exc:
        field, errors = next(iter(exc.message_dict.items()))
        raise DomainError(errors[0], field=None if field == "__all__" else field) from exc
    except IntegrityError as exc:
        raise DomainError(duplicate) from exc
    audit(tenant=acting_user.tenant, actor=acting_user, action=action, obj=obj)


def desk_settings_update(
    *,
    acting_user: User,
    default_team,
    max_open_per_agent,
    reopen_days,
    survey_on: bool | None = None,
    survey_days: int | None = None,
) -> ServiceSettings:
    require_admin(acting_user)
    if default_team is not None and default_team.tenant_id != acting_user.tenant_id:
        raise DomainError(_("Choose a team."), field="default_team")
    with transaction.atomic():
        found = service_settings(acting_user.tenant_id)
        found = ServiceSettings.objects.select_for_update().get(pk=found.pk)
        found.default_team = default_team
        found.max_open_per_agent = max_open_per_agent
        found.reopen_days = reopen_days
        if survey_on is not None:
            found.survey_on = survey_on
        if survey_days is not None:
            found.survey_days = survey_days
        _save(acting_user, found, "service.settings", duplicate=_("Could not save the settings."))
    return found


def category_save(*, acting_user: User, category: TicketCategory | None, name: str, active: bool) -> TicketCategory:
    require_admin(acting_user)
    category = category or TicketCategory(tenant=acting_user.tenant, created_by=acting_user)
    category.name, category.active = name.strip(), active
    with transaction.atomic():
        _save(acting_user, category, "service.category", duplicate=_("A category of that name exists."))
    return category


def sla_policy_save(
    *,
    acting_user: User,
    priority: str,
    level,
    first_response_minutes: int,
    resolution_minutes: int,
    apply_to_open: bool = False,
) -> SlaPolicy:
    """Create or replace the policy of a priority (and level). It applies to new tickets and to tickets whose
    priority changes; with `apply_to_open`, also to the unsolved tickets of that priority (a job after commit
    moves their deadlines on the business calendar, keeping the time they have used)."""
    require_admin(acting_user)
    if level is not None and level.tenant_id != acting_user.tenant_id:
        raise DomainError(_("Choose a level."), field="level")
    with transaction.atomic():
        policy = (
            SlaPolicy.objects.select_for_update()
            .filter(tenant=acting_user.tenant, priority=priority, level=level)
            .first()
        ) or SlaPolicy(tenant=acting_user.tenant, priority=priority, level=level, created_by=acting_user)
        policy.first_response_minutes = first_response_minutes
        policy.resolution_minutes = resolution_minutes
        _save(acting_user, policy, "service.sla_policy", duplicate=_("That policy exists."))
        if apply_to_open:
            outbox.enqueue(tasks.recompute_deadlines, acting_user.tenant_id, priority)
    return policy


def sla_policy_delete(*, acting_user: User, policy: SlaPolicy) -> None:
    require_admin(acting_user)
    with transaction.atomic():
        audit(tenant=acting_user.tenant, actor=acting_user, action="service.sla_policy_delete", obj=policy)
        policy.delete()


RULE_FIELDS = ("name", "order", "active", "category", "priorities", "channels", "level", "keywords", "team", "method")


def dispatch_rule_save(*, acting_user: User, rule: DispatchRule | None, data: dict) -> DispatchRule:
    require_admin(acting_user)
    for key in ("category", "level", "team"):
        value = data.get(key)
        if value is not None and value.tenant_id != acting_user.tenant_id:
            raise DomainError(_("Choose a value of this company."), field=key)
    rule = rule or DispatchRule(tenant=acting_user.tenant, created_by=acting_user)
    for key in RULE_FIELDS:
        setattr(rule, key, data[key])
    rule.keywords = [k.strip()[:50] for k in rule.keywords if k.strip()][:30]
    with transaction.atomic():
        _save(acting_user, rule, "service.dispatch_rule", duplicate=_("A rule of that name exists."))
    return rule


def dispatch_rule_delete(*, acting_user: User, rule: DispatchRule) -> None:
    require_admin(acting_user)
    with transaction.atomic():
        audit(tenant=acting_user.tenant, actor=acting_user, action="service.dispatch_rule_delete", obj=rule)
        rule.delete()


def canned_reply_save(*, acting_user: User, title: str, body: str) -> CannedReply:
    require_admin(acting_user)
    reply = CannedReply(tenant=acting_user.tenant, created_by=acting_user, title=title.strip(), body=body.strip())
    with transaction.atomic():
        _save(acting_user, reply, "service.canned_reply", duplicate=_("A canned reply of that title exists."))
    return reply


def canned_reply_delete(*, acting_user: User, reply: CannedReply) -> None:
    require_admin(acting_user)
    with transaction.atomic():
        audit(tenant=acting_user.tenant, actor=acting_user, action="service.canned_reply_delete", obj=reply)
        reply.delete()
