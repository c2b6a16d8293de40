"""Writes of leads: create (by hand, import, web form), edit, status, hand out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import require_tenant_user, sales_assignable_users
from crm.api.services.custom_field import custom_values_clean
from crm.api.services.webhook import webhook_emit
from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.audit import audit
from crm.services.notification import lazy_format, notify
from customers.models import ChoiceKind, Tag
from customers.normalize import normalize_company_name, normalize_email
from customers.selectors.choice_list import ChoiceLookup
from customers.services.contact import clean_phone
from sales.access import can_work_leads, is_lead_manager, require_lead_access
from sales.models import (
    Lead,
    LeadOrigin,
    LeadPool,
    LeadStatus,
    LeadTag,
    LeadWebForm,
    Product,
)
from sales.selectors.lead_pool import pool_for_new_lead
from sales.services.lead_duplicate import (
    _apply_match,
    _lock_identifiers,
    detect_duplicate,
    lead_identifiers,
    notify_duplicate_holders,
)
from sales.services.lead_scoring import score_leads

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


def clean_lead_data(
    tenant: Tenant,
    data: dict[str, Any],
    *,
    require_reach: bool = True,
    check_lists: bool = True,
    current: Any = None,
) -> dict[str, Any]:
    """The lead's values, trimmed and normalized (phone E.164, email lowercased), or one DomainError naming every
    field that refuses them (a form shows them all at once). Region, industry and source follow the company's value
    lists (`check_lists`; a lead's `current` value outside a list may stay)."""
    values: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for field, limit in LEAD_TEXT_FIELDS.items():
        value = str(data.get(field) or "").strip()
        if len(value) > limit:
            errors.append((field, _("Too long: at most %(max)d characters.") % {"max": limit}))
        values[field] = value
    if not values["name"]:
        errors.append(("name", _("Enter the lead's name.")))
    try:
        values["phone"] = clean_phone(str(data.get("phone") or "").strip(), tenant, "phone")
    except DomainError as exc:
        errors.append(("phone", exc.message))
        values["phone"] = None
    email = normalize_email(str(data.get("email") or ""))
    if email:
        try:
            _email_validator(email)
        except ValidationError:
            errors.append(("email", _("“%(value)s” is not a valid email address.") % {"value": data.get("email")}))
            email = None
    values["email"] = email
    values["message"] = str(data.get("message") or "").strip()[:MESSAGE_MAX_LENGTH]
    if "product" in data:
        # The product line: a product of the company's catalogue (an id or the product), or none.
        product = data.get("product")
        values["product"] = None
        if product not in (None, ""):
            values["product"] = Product.objects.filter(tenant_id=tenant.pk, pk=getattr(product, "pk", product)).first()
            if values["product"] is None:
                errors.append(("product", _("Choose a product of your company's catalogue.")))
    if "tags" in data:
        # The company's tags (the customers' list): tags or their ids; another company's are refused.
        wanted = {getattr(t, "pk", t) for t in data.get("tags") or ()}
        values["tags"] = list(Tag.objects.filter(tenant_id=tenant.pk, pk__in=wanted).order_by("name", "pk"))
        if len(values["tags"]) != len(wanted):
            errors.append(("tags", _("Choose tags of your company.")))
    if check_lists:
        lookup = ChoiceLookup(tenant)
        for kind in (ChoiceKind.REGION, ChoiceKind.INDUSTRY, ChoiceKind.SOURCE):
            if values.get(kind) and values[kind] != (getattr(current, kind, None) if current else None):
                values[kind], error = lookup.resolve(kind, values[kind])
                if error:
                    errors.append((kind, error))
    # A phone or email refused above is said as such, not as "no way to reach the lead".
    typed = [str(data.get(key) or "").strip() for key in ("phone", "email")]
    if require_reach and not (any(typed) or values["wechat"]):
        errors.append(("phone", _("Give a phone number, an email or a WeChat ID, so the lead can be reached.")))
    if errors:
        raise DomainError.of(errors)
    if data.get("custom") is not None:
        existing = current.custom if current is not None else None
        values["custom"] = custom_values_clean(
            tenant_id=tenant.pk, kind="lead", values=data["custom"], existing=existing
        )
    return values


UNSET: Any = object()


def create_lead(
    *,
    tenant: Tenant,
    values: dict[str, Any],
    owner: User | None,
    origin: str,
    actor: User | None,
    web_form: LeadWebForm | None = None,
    pool: LeadPool | None = None,
) -> Lead:
    """The common path of every single lead: lock its identifiers, link what it matches, save, score, audit,
    notify the holders of what it matches. Runs inside the caller's transaction."""
    identifiers = lead_identifiers(values)
    _lock_identifiers(tenant.pk, identifiers)
    lead = Lead(
        tenant=tenant,
        created_by=actor,
        owner=owner,
        owned_since=timezone.now() if owner is not None else None,
        # The home lead pool: a lead nobody owns waits there; an owned one falls back there by its rules.
        pool=pool_for_new_lead(tenant.pk, pool),
        origin=origin,
        web_form=web_form,
        company_key=normalize_company_name(values.get("company") or ""),
        custom=values.get("custom") or {},
        product=values.get("product"),
        **{k: values[k] for k in LEAD_FIELDS},
    )
    _apply_match(lead, detect_duplicate(tenant, values))
    lead.save()
    if values.get("tags"):
        LeadTag.objects.bulk_create([LeadTag(tenant=tenant, lead=lead, tag=t) for t in values["tags"]])
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
    webhook_emit(
        tenant_id=tenant.pk,
        event="lead.created",
        data={"id": lead.pk, "name": lead.name, "origin": origin, "owner": lead.owner_id, "status": lead.status},
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
    elif not sales_assignable_users(acting_user).filter(pk=owner.pk).exists():
        raise DomainError(_("Choose yourself or an active member of a team you manage."), field="owner")
    values = clean_lead_data(tenant, data)
    with transaction.atomic():
        lead = create_lead(tenant=tenant, values=values, owner=owner, origin=LeadOrigin.MANUAL, actor=acting_user)
        if owner is not None and owner.pk != acting_user.pk:
            _notify_assigned(owner, [lead], acting_user)
    return lead


def lead_update(*, acting_user: User, lead: Lead, data: dict[str, Any]) -> Lead:
    """Change a lead's details; a changed phone, email or company is checked for duplicates again."""
    require_tenant_user(acting_user)
    require_lead_access(acting_user, lead)
    tenant = acting_user.tenant
    values = clean_lead_data(tenant, data, current=lead)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.is_converted:
            raise DomainError(_("A converted lead stays as it was; change its customer instead."))
        before = {k: getattr(lead, k) for k in LEAD_FIELDS}
        identifiers_changed = lead_identifiers(before) != lead_identifiers(values)
        for key in LEAD_FIELDS:
            setattr(lead, key, values[key])
        custom_before = lead.custom
        if "custom" in values:
            lead.custom = values["custom"]
        old_product = lead.product_id
        if "product" in values:
            lead.product = values["product"]
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
        tags_before = lead_tags_set(lead, values.get("tags"))
        score_leads(tenant_id=tenant.pk, lead_ids=[lead.pk])
        lead.refresh_from_db()
        changes = {k: [str(before[k]), str(values[k])] for k in LEAD_FIELDS if before[k] != values[k]}
        if tags_before is not None:
            changes["tags"] = [tags_before, sorted(t.name for t in values["tags"])]
        if lead.custom != custom_before:
            changes["custom"] = [custom_before, lead.custom]
        if lead.product_id != old_product:
            changes["product"] = [str(old_product or ""), str(lead.product_id or "")]
        if changes:
            audit(tenant=tenant, actor=acting_user, action="lead.update", obj=lead, details=changes)
        if newly_duplicate:
            notify_duplicate_holders(lead)
    return lead


def lead_tags_set(lead: Lead, tags: list[Tag] | None) -> list[str] | None:
    """Give the lead exactly these tags (None: leave them). Returns the names it had when they changed, else None."""
    if tags is None:
        return None
    had = {t.pk: t.name for t in Tag.objects.filter(pk__in=LeadTag.objects.filter(lead=lead).values("tag_id"))}
    wanted = {t.pk for t in tags}
    if set(had) == wanted:
        return None
    LeadTag.objects.filter(lead=lead).exclude(tag_id__in=wanted).delete()
    LeadTag.objects.bulk_create([LeadTag(tenant_id=lead.tenant_id, lead=lead, tag=t) for t in tags if t.pk not in had])
    return sorted(had.values())


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
    if owner is None or not sales_assignable_users(acting_user).filter(pk=owner.pk).exists():
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
        now = timezone.now()
        Lead.objects.filter(pk__in=[lead.pk for lead in moved]).update(
            owner=owner, owned_since=now, extension_days=0, updated_at=now
        )
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
    notify(recipient=owner, title=title, url=url, email=False, robot_event="lead_assigned")


def leads_map_value(*, tenant: Tenant, kind: str, from_value: str, to_value: str) -> dict[str, int]:
    """An administrator mapped a free-text region, industry or source to a list value: the company's leads that
    carry it follow, in one UPDATE (inside the mapping's transaction)."""
    if kind not in ChoiceKind.values:
        return {}
    return {"leads": Lead.objects.filter(tenant=tenant, **{kind: from_value}).update(**{kind: to_value})}
