"""Setting sales targets: a manager for the people and teams under them, an admin for everyone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from crm.access import sales_assignable_users
from crm.errors import DomainError
from crm.models import Role, User
from crm.services.audit import audit
from reports.access import require_targets
from reports.forms.filters import scoped_teams
from reports.models import SalesTarget


def target_people(user):
    """Whose targets `user` sets: an admin every sales colleague, a manager the people of their team tree (not
    themself: their own target comes from above)."""
    people = sales_assignable_users(user)
    if not user.has_any_role(Role.ADMIN):
        people = people.exclude(pk=user.pk)
    return people


def target_teams(user):
    return scoped_teams(user)


# A cell of the grid: ("user" or "team", id, first day of the month) → amount or new customers; None clears it.
Cell = tuple[str, int, dt.date]


def targets_save(*, acting_user: User, field: str, values: dict[Cell, Decimal | int | None]) -> int:
    """Write the grid's changed cells in one transaction: each cell sets (or, empty, clears) the amount or the
    new-customers count of one person's or team's month. A cell outside what the user may set refuses the whole
    save. Returns the number of cells changed."""
    require_targets(acting_user)
    if field not in ("amount", "new_customers"):
        raise DomainError(_("Unknown target field."))
    tenant_id = acting_user.tenant_id
    user_ids = {pk for kind, pk, _m in values if kind == "user"}
    team_ids = {pk for kind, pk, _m in values if kind == "team"}
    allowed_users = set(target_people(acting_user).filter(pk__in=user_ids).values_list("pk", flat=True))
    allowed_teams = set(target_teams(acting_user).filter(pk__in=team_ids).values_list("pk", flat=True))
    if user_ids - allowed_users or team_ids - allowed_teams:
        raise DomainError(_("You may set targets only for the people and teams you manage."))
    changed = 0
    with transaction.atomic():
        existing = {
            ("user" if t.user_id else "team", t.user_id or t.team_id, t.month): t
            for t in SalesTarget.objects.select_for_update()
            .filter(tenant_id=tenant_id, month__in={m for *_k, m in values})
            .filter(user_id__in=user_ids)
            | SalesTarget.objects.select_for_update().filter(
                tenant_id=tenant_id, month__in={m for *_k, m in values}, team_id__in=team_ids
            )
        }
        for (kind, pk, month), value in sorted(values.items(), key=lambda item: (item[0][0], item[0][1], item[0][2])):
            target = existing.get((kind, pk, month))
            if field == "amount":
                if value is None:
                    if target is not None:
                        target.delete()
                        changed += 1
                    continue
                if target is None:
                    SalesTarget.objects.create(
                        tenant_id=tenant_id,
                        created_by=acting_user,
                        month=month,
                        amount=value,
                        **{"user_id" if kind == "user" else "team_id": pk},
                    )
                    changed += 1
                elif target.amount != value:
                    target.amount = value
                    target.save(update_fields=["amount", "updated_at"])
                    changed += 1
            else:
                if target is None:
                    if value is not None:
                        raise DomainError(
                            _("Set the amount of %(month)s first, then its new customers.")
                            % {"month": f"{month:%Y-%m}"}
                        )
                    continue
                if target.new_customers != value:
                    target.new_customers = value
                    target.save(update_fields=["new_customers", "updated_at"])
                    changed += 1
        if changed:
            audit(
                tenant=acting_user.tenant,
                actor=acting_user,
                action="reports.targets_set",
                details={"field": field, "cells": changed},
            )
    return changed
