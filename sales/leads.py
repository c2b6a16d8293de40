"""Writes of the leads: create (by hand, from the public web form, from an import), edit, status, assignment,
scoring rules and scores, and the conversion into a customer, its contact and an opportunity.

Every function is keyword-only and atomic, checks the acting user's permission, writes the audit event and raises
DomainError (translated, naming the form field) or PermissionDenied on refusal, having then written nothing.

Duplicates are never refused: a lead whose phone, email or company matches an existing lead or customer is kept,
flagged, linked to what it matches, and that record's holder is notified. What a user is told about the matched
record never goes beyond what they may see of it: its name only if it is visible to them, else who holds it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import phonenumbers
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator
from django.db import OperationalError, connection, transaction
from django.db.models import BigIntegerField, Case, Count, Func, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import assignable_users, require_admin, require_tenant_user
from crm.errors import DomainError
from crm.locks import LEAD_IDENTIFIER, LEAD_SCORING_RULES
from crm.models import Role, Tenant, User
from crm.services.audit import audit
from crm.services.notification import lazy_format, notify
from customers.models import Contact, Customer
from customers.normalize import normalize_company_name, normalize_email
from customers.services.assignment import LEAD, choose_owner, notify_new_owners
from customers.services.assignment_backlog import BACKLOG_LIMIT, BacklogItem
from customers.services.contact import clean_phone, contact_save
from customers.services.customer import customer_create
from customers.services.identifier import Identifier, describe_holder, find_duplicate

from .models import (
    VALUELESS_CONDITIONS,
    DuplicateKind,
    Lead,
    LeadOrigin,
    LeadScoringRule,
    LeadStatus,
    LeadWebForm,
    Pipeline,
    ScoringCondition,
    ScoringField,
    Stage,
    WebFormField,
)

logger = logging.getLogger(__name__)

# Up to this many leads, a change of the rules rescores them at once; above, a Celery job does it after commit.
RECOMPUTE_INLINE_MAX = 20_000
# How long an admin changing the rules waits for scoring in progress (an import) before being told to retry.
RULES_LOCK_TIMEOUT = "5s"
MESSAGE_MAX_LENGTH = 5000

LEAD_TEXT_FIELDS = {
    "name": 100,
    "company": 200,
    "title": 100,
    "wechat": 64,
    "region": 50,
    "industry": 50,
    "source": 50,
    "campaign": 100,
}
LEAD_FIELDS = [*LEAD_TEXT_FIELDS, "phone", "email", "message"]
_email_validator = EmailValidator()
_VALUE_SEPARATORS = re.compile(r"[,，、;；\n]+")

KIND_LABELS_LAZY = {
    DuplicateKind.PHONE: gettext_lazy("phone number"),
    DuplicateKind.EMAIL: gettext_lazy("email"),
    DuplicateKind.COMPANY: gettext_lazy("company name"),
}


# --- permissions ---------------------------------------------------------------------------------------------


def is_lead_manager(user: User) -> bool:
    """Managers and admins see unassigned leads and hand leads out."""
    return user.has_any_role(Role.ADMIN, Role.MANAGER)


def can_work_leads(user: User) -> bool:
    return user.has_any_role(Role.ADMIN, Role.MANAGER, Role.REP)


def require_lead_access(user: User, lead: Lead) -> None:
    """Whoever sees a lead may work on it (its owner, the owner's managers, admins; managers for unassigned)."""
    if lead.tenant_id != user.tenant_id or not Lead.objects.visible_to(user).filter(pk=lead.pk).exists():
        raise PermissionDenied(_("This lead is not yours."))


def default_lead_owner(*, tenant: Tenant, web_form: LeadWebForm | None = None, origin: str = "") -> User | None:
    """Who receives a lead nobody chose an owner for: the web form's owner, or nobody (managers hand it out).

    This is the one place where the assignment rules (customers.services.assignment) will decide later."""
    owner = web_form.owner if web_form is not None else None
    if owner is not None and owner.is_active and owner.tenant_id == tenant.pk:
        return owner
    return None


def open_leads_per_owner(tenant_id: int, user_ids: list[int]) -> dict[int, int]:
    """Open leads (not converted, not disqualified) each user owns: their share of the assignment rules' load."""
    if not user_ids:
        return {}
    rows = (
        Lead.objects.filter(tenant_id=tenant_id, owner_id__in=user_ids)
        .exclude(status__in=[LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED])
        .order_by()
        .values("owner_id")
        .annotate(n=Count("pk"))
    )
    return {row["owner_id"]: row["n"] for row in rows}


# --- cleaning ------------------------------------------------------------------------------------------------


def clean_lead_data(tenant: Tenant, data: dict[str, Any], *, require_reach: bool = True) -> dict[str, Any]:
    """The lead's values, trimmed and normalized (phone E.164, email lowercased), or DomainError naming the field."""
    values: dict[str, Any] = {}
    for field, limit in LEAD_TEXT_FIELDS.items():
        value = str(data.get(field) or "").strip()
        if len(value) > limit:
            raise DomainError(_("Too long: at most %(max)d characters.") % {"max": limit}, field=field)
        values[field] = value
    if not values["name"]:
        raise DomainError(_("Enter the lead's name."), field="name")
    values["phone"] = clean_phone(str(data.get("phone") or "").strip(), tenant, "phone")
    email = normalize_email(str(data.get("email") or ""))
    if email:
        try:
            _email_validator(email)
        except ValidationError as exc:
            raise DomainError(
                _("“%(value)s” is not a valid email address.") % {"value": data.get("email")}, field="email"
            ) from exc
    values["email"] = email
    values["message"] = str(data.get("message") or "").strip()[:MESSAGE_MAX_LENGTH]
    if require_reach and not (values["phone"] or values["email"] or values["wechat"]):
        raise DomainError(_("Give a phone number, an email or a WeChat ID, so the lead can be reached."), field="phone")
    return values


def lead_identifiers(values: dict[str, Any]) -> list[Identifier]:
    """The identifiers a lead shares with leads and customers: normalized phone, email and company name."""
    found = []
    if values.get("phone"):
        found.append(Identifier(DuplicateKind.PHONE, values["phone"], "phone"))
    if values.get("email"):
        found.append(Identifier(DuplicateKind.EMAIL, values["email"], "email"))
    company_key = normalize_company_name(values.get("company") or "")
    if company_key:
        found.append(Identifier(DuplicateKind.COMPANY, company_key, "company"))
    return found


def _lock_identifiers(tenant_id: int, identifiers: Sequence[Identifier]) -> None:
    """Serialize the creation of leads sharing an identifier: of two identical leads sent at once, the second
    waits for the first to commit and is flagged as its duplicate. Locks are taken in a fixed order."""
    keys = sorted({f"{tenant_id}:{i.kind}:{i.value}" for i in identifiers})
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LEAD_IDENTIFIER, key])


# --- duplicates ----------------------------------------------------------------------------------------------


def _lead_match_query(identifiers: Iterable[Identifier]) -> Q | None:
    query = None
    for ident in identifiers:
        field = {"phone": "phone", "email": "email", "company": "company_key"}[ident.kind]
        part = Q(**{field: ident.value})
        query = part if query is None else query | part
    return query


def find_lead_match(tenant_id: int, identifiers, exclude_pk: int | None = None):
    """(identifier, lead) of the earliest lead sharing an identifier (originals before duplicates), or None."""
    query = _lead_match_query(identifiers)
    if query is None:
        return None
    leads = Lead.objects.filter(tenant_id=tenant_id).filter(query).select_related("owner")
    if exclude_pk is not None:
        leads = leads.exclude(pk=exclude_pk)
    lead = leads.order_by("is_duplicate", "created_at", "pk").first()
    if lead is None:
        return None
    ident = next(i for i in identifiers if _lead_value(lead, i.kind) == i.value)
    return ident, lead


def _lead_value(lead: Lead, kind: str) -> str:
    return {"phone": lead.phone, "email": lead.email, "company": lead.company_key}[kind]


@dataclass
class DuplicateMatch:
    kind: str
    lead: Lead | None = None
    customer: Customer | None = None


def detect_duplicate(tenant: Tenant, values: dict[str, Any], exclude_pk: int | None = None) -> DuplicateMatch | None:
    """What an existing lead or customer of the tenant shares with these values (both may match)."""
    identifiers = lead_identifiers(values)
    if not identifiers:
        return None
    customer_hit = find_duplicate(tenant, identifiers)
    lead_hit = find_lead_match(tenant.pk, identifiers, exclude_pk=exclude_pk)
    if customer_hit is None and lead_hit is None:
        return None
    kind = (customer_hit or lead_hit)[0].kind
    return DuplicateMatch(
        kind=kind,
        customer=customer_hit[1] if customer_hit else None,
        lead=lead_hit[1] if lead_hit else None,
    )


def _apply_match(lead: Lead, match: DuplicateMatch | None) -> None:
    lead.is_duplicate = match is not None
    lead.duplicate_kind = match.kind if match else ""
    lead.duplicate_of_lead = match.lead if match else None
    lead.duplicate_of_customer = match.customer if match else None


def describe_lead_holder(holder: Lead, user: User | None) -> str:
    """Who holds a lead, saying no more than `user` may see: its name only if visible to them."""
    visible = user is not None and Lead.objects.visible_to(user).filter(pk=holder.pk).exists()
    if holder.owner_id is None:
        where = _("not assigned yet")
    else:
        where = _("held by %(owner)s") % {"owner": holder.owner.full_name}
    if visible:
        return _("lead “%(name)s”, %(where)s") % {"name": str(holder), "where": where}
    return _("an existing lead, %(where)s") % {"where": where}


def duplicate_notes(lead: Lead, user: User) -> list[dict[str, Any]]:
    """What the lead's duplicate banner says to `user`: per matched record, a sentence and a link if they may
    open it."""
    if not lead.is_duplicate:
        return []
    what = KIND_LABELS_LAZY.get(lead.duplicate_kind, "")
    notes = []
    if lead.duplicate_of_customer_id:
        holder = Customer.objects.filter(pk=lead.duplicate_of_customer_id).select_related("owner", "pool").first()
        if holder is not None and holder.deleted_at is None:
            visible = Customer.objects.visible_to(user).filter(pk=holder.pk).exists()
            notes.append(
                {
                    "text": _("Its %(what)s matches %(holder)s.")
                    % {"what": what, "holder": describe_holder(holder, user)},
                    "url": reverse("customers:detail", args=[holder.pk]) if visible else "",
                }
            )
    if lead.duplicate_of_lead_id:
        holder = Lead.objects.filter(pk=lead.duplicate_of_lead_id).select_related("owner").first()
        if holder is not None:
            visible = Lead.objects.visible_to(user).filter(pk=holder.pk).exists()
            notes.append(
                {
                    "text": _("Its %(what)s matches %(holder)s.")
                    % {"what": what, "holder": describe_lead_holder(holder, user)},
                    "url": reverse("sales:lead_detail", args=[holder.pk]) if visible else "",
                }
            )
    if not notes:
        notes.append({"text": _("It matched a record that no longer exists."), "url": ""})
    return notes


def _held_by_lazy(lead: Lead):
    if lead.owner_id is None:
        return gettext_lazy("not assigned yet")
    return lazy_format(gettext_lazy("held by %(name)s"), name=lead.owner.full_name)


def notify_duplicate_holders(lead: Lead) -> None:
    """Tell the holders of what a new lead matches (a customer's owner, a lead's owner): someone asking again is a
    buying signal. They learn who holds the new lead, not more; the link is to their own record."""
    what = KIND_LABELS_LAZY.get(lead.duplicate_kind, "")
    origin = LeadOrigin(lead.origin).label
    # The new lead's own owner already has it in front of them.
    told: set[int] = {lead.owner_id} if lead.owner_id else set()
    customer = lead.duplicate_of_customer
    if customer is not None and customer.owner_id and customer.owner_id not in told and customer.owner.is_active:
        told.add(customer.owner_id)
        notify(
            recipient=customer.owner,
            title=lazy_format(gettext_lazy("New enquiry matching your customer %(name)s"), name=customer.name),
            body=lazy_format(
                gettext_lazy(
                    "A new lead (%(origin)s) has the same %(what)s; it is %(held)s. "
                    "Someone asking again is a buying signal: follow up."
                ),
                origin=origin,
                what=what,
                held=_held_by_lazy(lead),
            ),
            url=reverse("customers:detail", args=[customer.pk]),
            key=f"lead-duplicate:{lead.pk}:customer:{customer.pk}",
            email=False,
        )
    holder = lead.duplicate_of_lead
    if holder is not None and holder.owner_id and holder.owner_id not in told and holder.owner.is_active:
        notify(
            recipient=holder.owner,
            title=lazy_format(gettext_lazy("New enquiry matching your lead %(name)s"), name=str(holder)),
            body=lazy_format(
                gettext_lazy(
                    "A new lead (%(origin)s) has the same %(what)s; it is %(held)s. "
                    "Someone asking again is a buying signal: follow up."
                ),
                origin=origin,
                what=what,
                held=_held_by_lazy(lead),
            ),
            url=reverse("sales:lead_detail", args=[holder.pk]),
            key=f"lead-duplicate:{lead.pk}:lead:{holder.pk}",
            email=False,
        )


# --- scoring -------------------------------------------------------------------------------------------------


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
    from .tasks import recompute_lead_scores

    transaction.on_commit(lambda: recompute_lead_scores.delay(tenant.pk))
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


# --- creating leads ------------------------------------------------------------------------------------------

UNSET: Any = object()


def _create_lead(
    *,
    tenant: Tenant,
    values: dict[str, Any],
    owner: User | None,
    origin: str,
    actor: User | None,
    web_form: LeadWebForm | None = None,
) -> Lead:
    """The common path of every single lead: lock its identifiers, link what it matches, save, score, audit,
    notify the holders of what it matches. Runs inside the caller's transaction."""
    identifiers = lead_identifiers(values)
    _lock_identifiers(tenant.pk, identifiers)
    lead = Lead(
        tenant=tenant,
        created_by=actor,
        owner=owner,
        origin=origin,
        web_form=web_form,
        company_key=normalize_company_name(values.get("company") or ""),
        **{k: values[k] for k in LEAD_FIELDS},
    )
    _apply_match(lead, detect_duplicate(tenant, values))
    lead.save()
    score_leads(tenant_id=tenant.pk, lead_ids=[lead.pk])
    lead.refresh_from_db(fields=["score", "score_rules", "scored_at"])
    audit(
        tenant=tenant,
        actor=actor,
        action="lead.create",
        obj=lead,
        details={
            "origin": origin,
            "owner": owner.pk if owner else None,
            "duplicate_of_lead": lead.duplicate_of_lead_id,
            "duplicate_of_customer": lead.duplicate_of_customer_id,
        },
    )
    if lead.is_duplicate:
        notify_duplicate_holders(lead)
    return lead


def lead_create(*, acting_user: User, data: dict[str, Any], owner: Any = UNSET) -> Lead:
    """A lead typed in by hand. Reps enter their own; managers and admins may give it to a colleague or leave it
    unassigned (owner=None)."""
    require_tenant_user(acting_user)
    if not can_work_leads(acting_user):
        raise PermissionDenied(_("Only sales reps, managers and administrators work with leads."))
    tenant = acting_user.tenant
    if owner is UNSET:
        owner = acting_user
    if owner is None:
        if not is_lead_manager(acting_user):
            raise PermissionDenied(_("Only managers and administrators leave a lead unassigned."))
    elif not assignable_users(acting_user).filter(pk=owner.pk).exists():
        raise DomainError(_("Choose yourself or an active member of a team you manage."), field="owner")
    values = clean_lead_data(tenant, data)
    with transaction.atomic():
        lead = _create_lead(tenant=tenant, values=values, owner=owner, origin=LeadOrigin.MANUAL, actor=acting_user)
        if owner is not None and owner.pk != acting_user.pk:
            _notify_assigned(owner, [lead], acting_user)
    return lead


def lead_update(*, acting_user: User, lead: Lead, data: dict[str, Any]) -> Lead:
    """Change a lead's details; a changed phone, email or company is checked for duplicates again."""
    require_tenant_user(acting_user)
    require_lead_access(acting_user, lead)
    tenant = acting_user.tenant
    values = clean_lead_data(tenant, data)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.is_converted:
            raise DomainError(_("A converted lead stays as it was; change its customer instead."))
        before = {k: getattr(lead, k) for k in LEAD_FIELDS}
        identifiers_changed = lead_identifiers(before) != lead_identifiers(values)
        for key in LEAD_FIELDS:
            setattr(lead, key, values[key])
        lead.company_key = normalize_company_name(lead.company)
        newly_duplicate = False
        if identifiers_changed:
            _lock_identifiers(tenant.pk, lead_identifiers(values))
            match = detect_duplicate(tenant, values, exclude_pk=lead.pk)
            previous = (lead.duplicate_of_lead_id, lead.duplicate_of_customer_id)
            _apply_match(lead, match)
            newly_duplicate = match is not None and previous != (
                lead.duplicate_of_lead_id,
                lead.duplicate_of_customer_id,
            )
        lead.save()
        score_leads(tenant_id=tenant.pk, lead_ids=[lead.pk])
        lead.refresh_from_db()
        changes = {k: [str(before[k]), str(values[k])] for k in LEAD_FIELDS if before[k] != values[k]}
        if changes:
            audit(tenant=tenant, actor=acting_user, action="lead.update", obj=lead, details=changes)
        if newly_duplicate:
            notify_duplicate_holders(lead)
    return lead


# --- status and assignment -----------------------------------------------------------------------------------

SETTABLE_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED)


def lead_set_status(*, acting_user: User, lead: Lead, status: str, reason: str = "") -> Lead:
    """New, contacted, qualified, or disqualified with a reason. "Converted" only comes from the conversion."""
    require_tenant_user(acting_user)
    require_lead_access(acting_user, lead)
    if status not in SETTABLE_STATUSES:
        raise DomainError(_("Choose a status; a lead becomes converted by converting it."), field="status")
    reason = (reason or "").strip()
    if status == LeadStatus.DISQUALIFIED and not reason:
        raise DomainError(_("Say why the lead is disqualified."), field="reason")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.is_converted:
            raise DomainError(_("This lead is already converted."))
        if lead.status == status and (status != LeadStatus.DISQUALIFIED or lead.disqualified_reason == reason):
            return lead
        previous = lead.status
        lead.status = status
        lead.disqualified_reason = reason[:300] if status == LeadStatus.DISQUALIFIED else ""
        lead.save(update_fields=["status", "disqualified_reason", "updated_at"])
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="lead.status",
            obj=lead,
            details={"from": previous, "to": status, "reason": lead.disqualified_reason},
        )
    return lead


def lead_assign(*, acting_user: User, leads: Iterable[Lead], owner: User) -> int:
    """Managers (within their teams, and the unassigned leads) and admins hand leads to a colleague."""
    require_tenant_user(acting_user)
    if not is_lead_manager(acting_user):
        raise PermissionDenied(_("Only managers and administrators assign leads."))
    if owner is None or not assignable_users(acting_user).filter(pk=owner.pk).exists():
        raise DomainError(_("Choose yourself or an active member of a team you manage."), field="owner")
    ids = sorted({lead.pk for lead in leads})
    if not ids:
        raise DomainError(_("Choose at least one lead."))
    with transaction.atomic():
        locked = list(
            Lead.objects.visible_to(acting_user).filter(pk__in=ids).select_for_update(of=("self",)).order_by("pk")
        )
        if len(locked) != len(ids):
            raise PermissionDenied(_("You may only assign leads you can see."))
        if any(lead.is_converted for lead in locked):
            raise DomainError(_("A converted lead is no longer assigned; its customer is."))
        moved = [lead for lead in locked if lead.owner_id != owner.pk]
        if not moved:
            return 0
        Lead.objects.filter(pk__in=[lead.pk for lead in moved]).update(owner=owner, updated_at=timezone.now())
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="lead.assign",
            details={"leads": [lead.pk for lead in moved], "to": owner.pk},
        )
        if owner.pk != acting_user.pk:
            _notify_assigned(owner, moved, acting_user)
    return len(moved)


def _notify_assigned(owner: User, leads: list[Lead], acting_user: User) -> None:
    if len(leads) == 1:
        lead = leads[0]
        title = lazy_format(
            gettext_lazy("%(name)s gave you the lead %(lead)s"), name=acting_user.full_name, lead=str(lead)
        )
        url = reverse("sales:lead_detail", args=[lead.pk])
    else:
        title = lazy_format(
            gettext_lazy("%(name)s gave you %(count)s leads"), name=acting_user.full_name, count=len(leads)
        )
        url = reverse("sales:lead_list") + "?owner=me"
    notify(recipient=owner, title=title, url=url, email=False)


# --- the public web form -------------------------------------------------------------------------------------


def web_form_for(tenant: Tenant) -> LeadWebForm:
    """The tenant's web form, or an unsaved one with sensible defaults in the tenant's language."""
    form = LeadWebForm.objects.filter(tenant=tenant).select_related("owner").first()
    if form is not None:
        return form
    with translation.override(tenant.language):
        return LeadWebForm(
            tenant=tenant,
            title=_("Contact %(company)s") % {"company": tenant.name},
            intro=_("Tell us how to reach you and what you need; we will get back to you soon."),
            thank_you=_("Thank you! We have received your message and will contact you soon."),
            source=_("Web form"),
        )


def web_form_save(
    *,
    acting_user: User,
    is_enabled: bool,
    title: str,
    intro: str,
    thank_you: str,
    fields: Sequence[str],
    required_fields: Sequence[str],
    owner: User | None,
    source: str = "",
    campaign: str = "",
) -> LeadWebForm:
    """Admins choose what the public form asks for, what it says and who gets its leads."""
    require_admin(acting_user)
    tenant = acting_user.tenant
    fields = [f for f in WebFormField.values if f in set(fields) | {"name"}]
    required = [f for f in fields if f in set(required_fields) | {"name"}]
    if "phone" not in fields and "email" not in fields:
        raise DomainError(_("Ask for a phone number or an email, so the leads can be reached."), field="fields")
    title = (title or "").strip()
    if not title:
        raise DomainError(_("Give the form a heading."), field="title")
    thank_you = (thank_you or "").strip()
    if not thank_you:
        raise DomainError(_("Write what visitors read after sending the form."), field="thank_you")
    if owner is not None and (owner.tenant_id != tenant.pk or not owner.is_active):
        raise DomainError(_("Choose an active colleague."), field="owner")
    with transaction.atomic():
        form = LeadWebForm.objects.select_for_update().filter(tenant=tenant).first()
        creating = form is None
        if creating:
            form = LeadWebForm(tenant=tenant, created_by=acting_user)
        form.is_enabled, form.title, form.intro, form.thank_you = is_enabled, title[:200], intro or "", thank_you
        form.fields, form.required_fields, form.owner = fields, required, owner
        form.source, form.campaign = (source or "").strip()[:50], (campaign or "").strip()[:100]
        form.save()
        audit(
            tenant=tenant,
            actor=acting_user,
            action="lead_form.update",
            obj=form,
            details={
                "enabled": is_enabled,
                "fields": fields,
                "required": required,
                "owner": owner.pk if owner else None,
            },
        )
    return form


def lead_submit_web_form(*, web_form: LeadWebForm, data: dict[str, Any], campaign: str = "", source: str = "") -> Lead:
    """A visitor's submission (already past the bot checks): a new lead for the form's owner or unassigned, never
    refused for being a duplicate."""
    tenant = web_form.tenant
    if not web_form.is_enabled or not tenant.is_active:
        raise DomainError(_("This form is closed."))
    asked = set(web_form.fields)
    values_in = {k: (v if k in asked else "") for k, v in data.items()}
    for field in web_form.required_fields:
        if field in asked and not str(values_in.get(field) or "").strip():
            raise DomainError(_("This field is required."), field=field)
    values_in["source"] = (source or web_form.source or "")[:50]
    values_in["campaign"] = (campaign or web_form.campaign or "")[:100]
    values = clean_lead_data(tenant, values_in)
    owner = default_lead_owner(tenant=tenant, web_form=web_form, origin=LeadOrigin.WEB_FORM)
    with transaction.atomic():
        rule = None
        if owner is None:
            # No owner on the form: the tenant's assignment rules decide, inside this transaction so that
            # simultaneous submissions take turns; no matching rule leaves the lead for managers to hand out.
            owner, rule = choose_owner(
                tenant=tenant,
                record_kind="lead",
                attrs={k: values.get(k, "") for k in ("source", "region", "industry")} | {"tags": []},
            )
        lead = _create_lead(
            tenant=tenant, values=values, owner=owner, origin=LeadOrigin.WEB_FORM, actor=None, web_form=web_form
        )
        if owner is not None and rule is not None:
            notify_new_owners({owner.pk: [("lead", str(lead), rule.name)]}, key=f"lead-rule:{lead.pk}")
        elif owner is not None:
            notify(
                recipient=owner,
                title=lazy_format(gettext_lazy("New lead from the web form: %(lead)s"), lead=str(lead)),
                url=reverse("sales:lead_detail", args=[lead.pk]),
                key=f"lead-web:{lead.pk}",
                email=False,
            )
    return lead


# --- conversion ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpportunityDraft:
    """The opportunity a conversion may create in the same transaction."""

    name: str
    pipeline: Pipeline | None
    stage: Stage | None = None
    amount: Decimal | None = None
    currency: str = ""
    expected_close_date: date | None = None


def _contact_values(lead: Lead) -> dict[str, Any]:
    mobile, phone = "", ""
    if lead.phone:
        try:
            number_type = phonenumbers.number_type(phonenumbers.parse(lead.phone, None))
        except phonenumbers.NumberParseException:
            number_type = None
        mobile_types = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
        if number_type in mobile_types:
            mobile = lead.phone
        else:
            phone = lead.phone
    return {
        "name": lead.name,
        "title": lead.title,
        "mobile": mobile,
        "phone": phone,
        "email": lead.email,
        "wechat": lead.wechat,
    }


def _matching_contact(customer: Customer, lead: Lead) -> Contact | None:
    query = Q()
    if lead.phone:
        query |= Q(mobile=lead.phone) | Q(phone=lead.phone)
    if lead.email:
        query |= Q(email=lead.email)
    if not query:
        return None
    return Contact.objects.filter(tenant_id=customer.tenant_id, customer=customer).filter(query).first()


def lead_convert(
    *,
    acting_user: User,
    lead: Lead,
    customer: Customer | None = None,
    customer_name: str = "",
    customer_kind: str = Customer.Kind.COMPANY,
    opportunity: OpportunityDraft | None = None,
) -> Lead:
    """Turn a qualified lead, in one transaction, into a new customer (its identifiers checked as on creation) or
    attach it to an existing one the user may change; with its contact and, optionally, an opportunity. The lead
    keeps links to what it became. Any refusal leaves nothing behind."""
    from .pipelines import opportunity_create

    require_tenant_user(acting_user)
    require_lead_access(acting_user, lead)
    tenant = acting_user.tenant
    with transaction.atomic():
        lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
        if lead.is_converted:
            raise DomainError(_("This lead is already converted."))
        if lead.status != LeadStatus.QUALIFIED:
            raise DomainError(_("Only a qualified lead is converted; qualify it first."), field="status")
        owner = lead.owner if lead.owner is not None and lead.owner.is_active else acting_user
        if customer is not None:
            if not Customer.objects.editable_by(acting_user).filter(pk=customer.pk).exists():
                raise DomainError(_("Choose a customer you may change."), field="customer")
            customer = Customer.objects.select_for_update().get(pk=customer.pk)
            contact = _matching_contact(customer, lead)
            if contact is None:
                contact = contact_save(acting_user=acting_user, customer=customer, data=_contact_values(lead))
            attached = True
        else:
            name = (customer_name or lead.company or lead.name).strip()
            if not name:
                raise DomainError(_("Enter the customer's name."), field="customer_name")
            if customer_kind not in Customer.Kind.values:
                raise DomainError(_("Choose company or person."), field="customer_kind")
            customer = customer_create(
                acting_user=acting_user,
                data={
                    "kind": customer_kind,
                    "name": name[:200],
                    "source": lead.source,
                    "industry": lead.industry,
                    "region": lead.region,
                    "status": Customer.Status.INTERESTED,
                    "notes": lead.message,
                },
                contact=_contact_values(lead),
                owner=owner,
            )
            contact = Contact.objects.filter(customer=customer).order_by("-is_primary", "pk").first()
            attached = False
        created_opportunity = None
        if opportunity is not None:
            try:
                created_opportunity = opportunity_create(
                    acting_user=acting_user,
                    customer=customer,
                    contact=contact,
                    owner=owner,
                    name=opportunity.name,
                    pipeline=opportunity.pipeline,
                    stage=opportunity.stage,
                    amount=opportunity.amount,
                    currency=opportunity.currency,
                    expected_close_date=opportunity.expected_close_date,
                    lead=lead,
                )
            except DomainError as exc:
                raise DomainError(exc.message, field=f"opportunity_{exc.field}" if exc.field else None) from exc
        lead.status = LeadStatus.CONVERTED
        lead.customer, lead.contact, lead.opportunity = customer, contact, created_opportunity
        lead.converted_at, lead.converted_by = timezone.now(), acting_user
        lead.save()
        audit(
            tenant=tenant,
            actor=acting_user,
            action="lead.convert",
            obj=lead,
            details={
                "customer": customer.pk,
                "attached": attached,
                "contact": contact.pk if contact else None,
                "opportunity": created_opportunity.pk if created_opportunity else None,
            },
        )
    return lead


# --- the assignment rules' backlog of unassigned leads (customers.services.assignment) ----------------------------------

LEAD_BACKLOG_SCAN = 5000


def lead_backlog_items(tenant: Tenant, *, rule, pool_id=None, ids=None, limit: int = BACKLOG_LIMIT):
    """Open leads nobody owns that `rule` matches, oldest first (pools do not apply to leads)."""
    qs = Lead.objects.filter(tenant=tenant, owner__isnull=True).exclude(
        status__in=[LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED]
    )
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    rows = qs.order_by("created_at", "pk").values("pk", "name", "company", "source", "region", "industry")[
        :LEAD_BACKLOG_SCAN
    ]
    matched = []
    for row in rows:
        attrs = {
            "source": row["source"],
            "region": row["region"],
            "industry": row["industry"],
            "level": None,
            "tags": [],
        }
        if rule.matches(attrs):
            label = " · ".join(x for x in (row["name"], row["company"]) if x)
            matched.append(
                BacklogItem(
                    kind=LEAD,
                    pk=row["pk"],
                    name=label,
                    attrs=attrs,
                    url=reverse("sales:lead_detail", args=[row["pk"]]),
                )
            )
    return matched[:limit], len(matched)


def lead_backlog_apply(*, tenant: Tenant, acting_user: User, rule, planned, now):
    """Give the planned leads to their reps: per rep one conditional UPDATE (only leads still unowned), audited."""
    by_rep: dict[int, dict[int, Any]] = {}
    reps: dict[int, User] = {}
    for item, rep in planned:
        by_rep.setdefault(rep.pk, {})[item.pk] = item
        reps[rep.pk] = rep
    applied = []
    for rep_id in sorted(by_rep):
        items = by_rep[rep_id]
        taken = list(
            Lead.objects.filter(tenant=tenant, pk__in=list(items), owner__isnull=True).values_list("pk", flat=True)
        )
        Lead.objects.filter(tenant=tenant, pk__in=taken, owner__isnull=True).update(owner_id=rep_id, updated_at=now)
        applied += [(items[pk], reps[rep_id]) for pk in sorted(taken)]
    if applied:
        audit(
            tenant=tenant,
            actor=acting_user,
            action="lead.assign_by_rule",
            obj=rule,
            details={"leads": [item.pk for item, _rep in applied], "rule": rule.name},
        )
    return applied
