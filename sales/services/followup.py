"""Follow-ups on a customer, a lead or an opportunity: logged, corrected within a day; each moves the customer's
last follow-up (customers.services.customer.record_follow_up)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import require_tenant_user
from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit
from customers.access import lock_customer, lock_customer_for_change
from customers.models import Contact, Customer
from customers.services.customer import record_follow_up
from sales.access import check_customer, followup_editable_by
from sales.models import (
    FOLLOW_UP_EDIT_WINDOW,
    FollowUp,
    Lead,
    Opportunity,
)
from sales.services.activity import required_text
from sales.services.task import task_create

# A follow-up logged "now" from a phone whose clock runs a little fast is still fine.
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class NextTask:
    """The task a follow-up form may create in the same transaction."""

    title: str
    due_at: datetime
    remind_at: datetime | None = None
    assignee: User | None = None


def _check_follow_up_fields(
    *, customer: Customer | None, kind: str, outcome: str, happened_at: datetime, contact: Contact | None
) -> None:
    if kind not in FollowUp.Kind.values:
        raise DomainError(_("Choose how you followed up."), field="kind")
    if outcome not in FollowUp.Outcome.values:
        raise DomainError(_("Choose an outcome."), field="outcome")
    if happened_at > timezone.now() + FUTURE_TOLERANCE:
        raise DomainError(_("A follow-up cannot be in the future; plan it as a task instead."), field="happened_at")
    if contact is not None and (
        customer is None or contact.customer_id != customer.pk or contact.tenant_id != customer.tenant_id
    ):
        raise DomainError(_("Choose a contact of this customer."), field="contact")


def _check_follow_up_subject(
    acting_user: User, *, lead: Lead | None, opportunity: Opportunity | None, new: bool = True
) -> None:
    """A lead or an opportunity is followed up by whoever may work on it (their visible_to: owner, the owner's
    managers, admins); the same refusal for another tenant's, a missing and an invisible one."""
    if lead is not None:
        if (
            lead.tenant_id != acting_user.tenant_id
            or not Lead.objects.visible_to(acting_user).filter(pk=lead.pk).exists()
        ):
            raise PermissionDenied(_("This lead is not yours."))
        if new and lead.status == Lead.Status.CONVERTED:
            raise DomainError(_("This lead is converted: log follow-ups on its customer or opportunity."))
    if opportunity is not None and (
        opportunity.tenant_id != acting_user.tenant_id
        or not Opportunity.objects.visible_to(acting_user).filter(pk=opportunity.pk).exists()
    ):
        raise PermissionDenied(_("This opportunity is not yours."))


def followup_log(
    *,
    acting_user: User,
    kind: str,
    content: str,
    customer: Customer | None = None,
    lead: Lead | None = None,
    opportunity: Opportunity | None = None,
    outcome: str = FollowUp.Outcome.NEUTRAL,
    happened_at: datetime | None = None,
    contact: Contact | None = None,
    next_step: str = "",
    next_task: NextTask | None = None,
) -> FollowUp:
    """Log a follow-up on a customer, a lead or an opportunity (which counts for its customer too), move the last
    follow-up forward and optionally plan the next task — all or nothing. A new lead followed up is contacted."""
    require_tenant_user(acting_user)
    if sum(x is not None for x in (customer, lead, opportunity)) != 1:
        raise ValueError("followup_log needs exactly one of customer, lead, opportunity")
    if customer is not None:
        check_customer(acting_user, customer, for_change=True)
    else:
        _check_follow_up_subject(acting_user, lead=lead, opportunity=opportunity)
        customer = opportunity.customer if opportunity is not None else None
    happened_at = happened_at or timezone.now()
    content = required_text(content, "content", _("Say what happened."))
    _check_follow_up_fields(customer=customer, kind=kind, outcome=outcome, happened_at=happened_at, contact=contact)
    with transaction.atomic():
        # The customer's row first: a transfer or the fallback job waits, or this write sees its result.
        if customer is not None and lead is None and opportunity is None:
            customer = lock_customer_for_change(acting_user, customer.pk)
        elif customer is not None:
            customer = lock_customer(acting_user, customer.pk)
        follow_up = FollowUp.objects.create(
            tenant_id=acting_user.tenant_id,
            customer=customer,
            lead=lead,
            opportunity=opportunity,
            contact=contact,
            author=acting_user,
            kind=kind,
            outcome=outcome,
            happened_at=happened_at,
            content=content,
            next_step=(next_step or "").strip()[:500],
            created_by=acting_user,
        )
        if customer is not None:
            record_follow_up(customer_id=customer.pk, at=happened_at, tenant_id=customer.tenant_id)
        _record_subject_follow_up(lead=lead, opportunity=opportunity, at=happened_at)
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="followup.create",
            obj=follow_up,
            details={
                "customer": customer.pk if customer else None,
                "lead": lead.pk if lead else None,
                "opportunity": opportunity.pk if opportunity else None,
                "kind": kind,
                "outcome": outcome,
            },
        )
        if next_task is not None:
            try:
                task_create(
                    acting_user=acting_user,
                    title=next_task.title or next_step,
                    due_at=next_task.due_at,
                    remind_at=next_task.remind_at,
                    assignee=next_task.assignee,
                    customer=customer if customer is not None and lead is None else None,
                    follow_up=follow_up,
                )
            except DomainError as exc:
                # Rolls back the follow-up too; the error names the next-task field of the form.
                raise DomainError(exc.message, field=f"next_task_{exc.field}" if exc.field else None) from exc
    return follow_up


def _record_subject_follow_up(*, lead: Lead | None, opportunity: Opportunity | None, at: datetime) -> None:
    """Move a lead's or an opportunity's last follow-up forward (never back); a new lead becomes contacted."""
    for model, obj in ((Lead, lead), (Opportunity, opportunity)):
        if obj is None:
            continue
        model.objects.filter(pk=obj.pk).filter(
            Q(last_followed_up_at__isnull=True) | Q(last_followed_up_at__lt=at)
        ).update(last_followed_up_at=at, updated_at=timezone.now())
    if lead is not None:
        Lead.objects.filter(pk=lead.pk, status=Lead.Status.NEW).update(
            status=Lead.Status.CONTACTED, updated_at=timezone.now()
        )


def followup_update(
    *,
    acting_user: User,
    follow_up: FollowUp,
    kind: str,
    content: str,
    outcome: str,
    happened_at: datetime,
    contact: Contact | None = None,
    next_step: str = "",
) -> FollowUp:
    """Correct a follow-up: its author only, within FOLLOW_UP_EDIT_WINDOW; every change is audited."""
    require_tenant_user(acting_user)
    if follow_up.author_id != acting_user.pk:
        raise PermissionDenied(_("Only the author may edit a follow-up."))
    content = required_text(content, "content", _("Say what happened."))
    with transaction.atomic():
        follow_up = (
            FollowUp.objects.select_for_update(of=("self",))
            .select_related("customer", "lead", "opportunity")
            .get(pk=follow_up.pk)
        )
        if not followup_editable_by(acting_user, follow_up):
            hours = int(FOLLOW_UP_EDIT_WINDOW.total_seconds() // 3600)
            raise DomainError(
                _("A follow-up can be edited for %(hours)d hours after it was logged; this one is now on the record.")
                % {"hours": hours}
            )
        if follow_up.customer_id and not follow_up.opportunity_id:
            check_customer(acting_user, follow_up.customer, for_change=True)
        else:
            _check_follow_up_subject(acting_user, lead=follow_up.lead, opportunity=follow_up.opportunity, new=False)
        _check_follow_up_fields(
            customer=follow_up.customer, kind=kind, outcome=outcome, happened_at=happened_at, contact=contact
        )
        before = _follow_up_snapshot(follow_up)
        follow_up.kind, follow_up.content, follow_up.outcome = kind, content, outcome
        follow_up.happened_at, follow_up.contact, follow_up.next_step = happened_at, contact, (next_step or "")[:500]
        after = _follow_up_snapshot(follow_up)
        changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if not changes:
            return follow_up
        follow_up.edited_at = timezone.now()
        follow_up.save()
        if follow_up.customer_id:
            record_follow_up(customer_id=follow_up.customer_id, at=happened_at, tenant_id=follow_up.tenant_id)
        _record_subject_follow_up(lead=follow_up.lead, opportunity=follow_up.opportunity, at=happened_at)
        audit(tenant=acting_user.tenant, actor=acting_user, action="followup.update", obj=follow_up, details=changes)
    return follow_up


def _follow_up_snapshot(follow_up: FollowUp) -> dict[str, Any]:
    return {
        "kind": follow_up.kind,
        "content": follow_up.content,
        "outcome": follow_up.outcome,
        "happened_at": follow_up.happened_at.isoformat(),
        "contact": follow_up.contact_id,
        "next_step": follow_up.next_step,
    }
