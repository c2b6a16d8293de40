"""Unassigned leads in the assignment rules' backlog: what a rule's dry run lists and its apply gives out."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from crm.models import Tenant, User
from crm.services.audit import audit
from customers.services.assignment import LEAD
from customers.services.assignment_backlog import BACKLOG_LIMIT, BacklogItem
from sales.models import (
    Lead,
    LeadOwnershipEvent,
    LeadStatus,
)

LEAD_BACKLOG_SCAN = 5000


def lead_backlog_items(tenant: Tenant, *, rule, pool_id=None, ids=None, limit: int = BACKLOG_LIMIT):
    """Open leads nobody owns that `rule` matches, oldest first: those waiting in lead pools and those in none
    (customer pools do not apply to leads)."""
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
    now = now or timezone.now()
    for rep_id in sorted(by_rep):
        items = by_rep[rep_id]
        rows = list(
            Lead.objects.filter(tenant=tenant, pk__in=list(items), owner__isnull=True)
            .select_for_update()
            .values_list("pk", "pool_id")
        )
        taken = [pk for pk, _pool in rows]
        Lead.objects.filter(tenant=tenant, pk__in=taken, owner__isnull=True).update(
            owner_id=rep_id, owned_since=now, extension_days=0, updated_at=now
        )
        # A lead taken from a lead pool leaves it in its history, as a manager's assignment would.
        LeadOwnershipEvent.objects.bulk_create(
            [
                LeadOwnershipEvent(
                    tenant=tenant,
                    lead_id=pk,
                    from_pool_id=pool_id,
                    to_owner_id=rep_id,
                    reason=LeadOwnershipEvent.Reason.ASSIGN,
                    note=rule.name[:500],
                    actor=acting_user,
                    at=now,
                )
                for pk, pool_id in rows
                if pool_id is not None
            ]
        )
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
