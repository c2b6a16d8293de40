"""Writes of pool settings (admins): a pool, the teams that see it, its rules per level."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Role, User
from crm.services.audit import audit
from customers.forms.pool import PoolForm
from customers.models import Pool, PoolLevelRule, PoolTeam
from customers.selectors.pool import RULE_FIELDS, Rules
from customers.services.fallback_date import fallback_at_refresh


def check_warning_window(data: dict, rules: list[dict]) -> None:
    """The early warning comes before the shortest rule of the pool, its levels' own rules included: a warning
    99 days ahead of a 30-day rule would warn of a fall-back before the customer was even held."""
    warn = data.get("warn_days_before")
    days = [data.get("no_followup_days"), data.get("no_deal_days"), data.get("no_contract_days")]
    days += [
        int(row[key])
        for row in rules
        for key in ("followup", "deal", "contract")
        if row.get(key) and not row.get("error")
    ]
    days = [d for d in days if d]
    if warn and days and warn >= min(days):
        raise DomainError(
            _("Warn fewer days ahead than the shortest rule gives (%(days)d days, level rules included).")
            % {"days": min(days)},
            field="warn_days_before",
        )


def _rules_of(pool: Pool) -> tuple:
    """What of a pool, as saved, decides its customers' fall-back dates (a bound form has already changed the
    instance, so it is read again)."""
    saved = Pool.objects.get(pk=pool.pk)
    return (Rules.of(saved), *(getattr(saved, f) for f in RULE_FIELDS))


def save_level_rules(*, form: PoolForm, rules: list[dict], acting_user: User) -> Pool:
    tenant = form.tenant
    if not acting_user.has_any_role(Role.ADMIN):
        raise DomainError(_("Only administrators edit pools."))
    check_warning_window(form.cleaned_data, rules)
    try:
        with transaction.atomic():
            before = _rules_of(form.instance) if form.instance.pk else None
            pool = form.save(commit=False)
            pool.tenant = tenant
            if pool.is_default:
                Pool.objects.for_tenant(tenant).exclude(pk=pool.pk).filter(is_default=True).update(is_default=False)
            if pool.receives_deactivated:
                Pool.objects.for_tenant(tenant).exclude(pk=pool.pk).filter(receives_deactivated=True).update(
                    receives_deactivated=False
                )
            pool.save()
            PoolTeam.objects.filter(pool=pool).exclude(team__in=form.cleaned_data["teams"]).delete()
            for team in form.cleaned_data["teams"]:
                PoolTeam.objects.get_or_create(tenant=tenant, pool=pool, team=team)
            PoolLevelRule.objects.filter(pool=pool).delete()
            PoolLevelRule.objects.bulk_create(
                [
                    PoolLevelRule(
                        tenant=tenant,
                        pool=pool,
                        level=row["level"],
                        no_followup_days=int(row["followup"]) if row["followup"] else None,
                        no_deal_days=int(row["deal"]) if row["deal"] else None,
                        no_contract_days=int(row["contract"]) if row["contract"] else None,
                    )
                    for row in rules
                    if row["followup"] or row["deal"] or row["contract"]
                ]
            )
            if _rules_of(pool) != before:
                # The pool's customers' dates follow its new rules: one set-based UPDATE of those that change.
                fallback_at_refresh(tenant=tenant, pool_ids=[pool.pk])
            cap = form.cleaned_data.get("max_customers_per_rep")
            if tenant.max_customers_per_rep != cap:
                tenant.max_customers_per_rep = cap
                tenant.save(update_fields=["max_customers_per_rep"])
            audit(
                tenant=tenant,
                actor=acting_user,
                action="pool.save",
                obj=pool,
                details={k: str(v) for k, v in form.cleaned_data.items() if k != "teams"},
            )
    except IntegrityError as exc:
        raise DomainError(_("A pool with this name already exists.")) from exc
    return pool
