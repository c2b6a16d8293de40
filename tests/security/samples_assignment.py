"""Sample URL arguments for the assignment rules' pages and the pool-rule simulation (see samples_crm.py)."""

from customers.models import AssignmentRule, Pool
from customers.services.assignment_rule import rule_save


def _rule(world):
    """A saved rule of tenant A ("MARKA" in its name, so a leak shows). get_or_create: the sweep may delete it."""
    rule = AssignmentRule.objects.filter(tenant=world.tenant, name="MARKA rule").first()
    if rule is None:
        rule = rule_save(
            acting_user=world.admin,
            tenant=world.tenant,
            name="MARKA rule",
            applies_to="both",
            team=world.sales,
            method="round_robin",
            sources=["MARKA-source"],
        )
    return {"pk": rule.pk}


SAMPLES = {
    "assignment:edit": _rule,
    "assignment:enable": _rule,
    "assignment:disable": _rule,
    "assignment:apply": _rule,
    "assignment:move": _rule,
    "assignment:delete": _rule,
    "pool_settings:simulate": lambda w: {"pk": Pool.objects.get(tenant=w.tenant, is_default=True).pk},
}
