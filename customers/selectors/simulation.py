"""The pool-rule simulation: while an admin edits a pool's rules, what the fallback job and the warnings would do
now, computed by the job's own predicate; nothing is written."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from crm.models import User
from crm.selectors.pool_limits import warning_ladder
from crm.workcalendar.selectors import local_today
from customers.models import Customer, FallbackWarning, Pool, PoolLevelRule
from customers.selectors.pool import fallback_due

LIST_LIMIT = 200


@dataclass
class RepCount:
    user: User | None
    fall_back: int = 0
    warned: int = 0


@dataclass
class WarnedRow:
    customer: Customer
    step: str
    due_on: dt.date
    already_warned: bool


@dataclass
class Simulation:
    """`runs` is False when the pool has no rule at all (no default and no level rule), so nothing falls back."""

    pool: Pool
    runs: bool
    due_count: int = 0
    due: list[Customer] = field(default_factory=list)
    due_ids: set[int] = field(default_factory=set)
    warned: list[WarnedRow] = field(default_factory=list)
    warned_count: int = 0
    # (customer, step) the warning job would send now: those not sent before in this ownership period.
    new_warnings: set[tuple[int, str]] = field(default_factory=set)
    per_rep: list[RepCount] = field(default_factory=list)

    @property
    def due_truncated(self) -> bool:
        return self.due_count > len(self.due)

    @property
    def warned_truncated(self) -> bool:
        return self.warned_count > len(self.warned)


def overrides_of(values: dict, level_rules: dict[int, tuple[int | None, ...]]) -> dict:
    """The `fallback_due` overrides from a pool form's values (unsaved); a level rule is (follow-up days, deal
    days[, days after the last contract ended])."""
    return {
        "no_followup_days": values.get("no_followup_days"),
        "no_deal_days": values.get("no_deal_days"),
        "no_contract_days": values.get("no_contract_days"),
        "exempt_key_accounts": bool(values.get("exempt_key_accounts")),
        "exempt_recent_deal_days": values.get("exempt_recent_deal_days"),
        "level_rules": {level: rule for level, rule in level_rules.items() if any(rule)},
    }


def simulate(
    pool: Pool,
    *,
    overrides: dict | None = None,
    warn_days_before: int | None = None,
    now: dt.datetime | None = None,
    limit: int = LIST_LIMIT,
) -> Simulation:
    """What `fallback_run` and `warn_run` would do to `pool` at `now` under `overrides` (None: the saved rules)."""
    now = now or timezone.now()
    followup = overrides.get("no_followup_days") if overrides is not None else pool.no_followup_days
    deal = overrides.get("no_deal_days") if overrides is not None else pool.no_deal_days
    contract = overrides.get("no_contract_days") if overrides is not None else pool.no_contract_days
    warn = pool.warn_days_before if warn_days_before is None else warn_days_before
    if overrides is not None:
        has_level_rules = bool(overrides.get("level_rules"))
    else:
        has_level_rules = PoolLevelRule.objects.filter(pool=pool).exists()
    sim = Simulation(
        pool=pool,
        runs=bool(followup is not None or deal is not None or contract is not None or has_level_rules),
    )
    if not sim.runs:
        return sim

    # The fallback job: fallback_run moves exactly fallback_due(pool, now=now).
    due_qs = fallback_due(pool, now=now, overrides=overrides)
    due_rows = list(due_qs.values_list("pk", "owner_id"))
    sim.due_ids = {pk for pk, _owner in due_rows}
    sim.due_count = len(sim.due_ids)
    sim.due = list(
        Customer.objects.filter(pk__in=due_qs.values("pk"))
        .select_related("owner", "level")
        .order_by("owner__full_name", "name", "pk")[:limit]
    )
    counts: dict[int | None, RepCount] = {}
    for owner_id, n in Counter(owner for _pk, owner in due_rows).items():
        counts[owner_id] = RepCount(user=None, fall_back=n)

    # The warning job's ladder, step for step as warn_run takes it: the last-day step first, then the early step,
    # each excluding what is due now or taken by an earlier step. What warn_run collects in a Python set of ids is
    # here the predicate one step earlier, as a subquery: the same rows (a customer due by day d is due by any later
    # day), without sending tens of thousands of ids back to the database.
    today = local_today(pool.tenant, now)
    taken = due_qs
    candidates: list[tuple[int, int, dt.datetime, str, dt.date]] = []
    for step, days in warning_ladder(warn):
        step_qs = fallback_due(pool, now=now, days_ahead=days, overrides=overrides)
        rows = list(step_qs.exclude(pk__in=taken.values("pk")).values_list("pk", "owner_id", "owned_since"))
        taken = step_qs
        candidates += [(pk, owner_id, since, step, today + dt.timedelta(days=days)) for pk, owner_id, since in rows]
    sent = set(
        FallbackWarning.objects.filter(tenant=pool.tenant, customer_id__in=[c[0] for c in candidates]).values_list(
            "customer_id", "owned_since", "step"
        )
    )
    by_pk = {
        c.pk: c
        for c in Customer.objects.filter(pk__in=[c[0] for c in candidates[:limit]]).select_related("owner", "level")
    }
    for pk, owner_id, since, step, due_on in candidates:
        counts.setdefault(owner_id, RepCount(user=None)).warned += 1
        if pk in by_pk:
            sim.warned.append(
                WarnedRow(customer=by_pk[pk], step=step, due_on=due_on, already_warned=(pk, since, step) in sent)
            )
    sim.warned_count = len(candidates)
    sim.new_warnings = {(pk, step) for pk, _owner, since, step, _due in candidates if (pk, since, step) not in sent}
    users = {u.pk: u for u in User.objects.filter(pk__in=[k for k in counts if k is not None])}
    for owner_id, row in counts.items():
        row.user = users.get(owner_id)
    sim.per_rep = sorted(counts.values(), key=lambda r: (-r.fall_back, -r.warned, r.user.full_name if r.user else ""))
    return sim
