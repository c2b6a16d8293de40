"""Sample URL arguments for the assignment rules' pages and the pool-rule simulation (see samples_crm.py)."""

from customers.models import AssignmentRule, Pool
from customers.services.assignment_rule import rule_save

from .marks import named


def _rule(world, name="MARKA rule"):
    """A saved rule of the tenant (its marker in its name, so a leak shows), made once."""
    rule = AssignmentRule.objects.filter(tenant=world.tenant, name=named(world, name)).first()
    if rule is None:
        rule = rule_save(
            acting_user=world.admin,
            tenant=world.tenant,
            name=named(world, name),
            applies_to="both",
            team=world.sales,
            method="round_robin",
            sources=[named(world, "MARKA-source")],
        )
    return {"pk": rule.pk}


SAMPLES = {
    "assignment:edit": _rule,
    "assignment:enable": _rule,
    "assignment:disable": _rule,
    "assignment:apply": _rule,
    "assignment:move": _rule,
    # Deleting is destructive: a rule of its own, deleted by A's admin in the sweep's final check.
    "assignment:delete": lambda w: _rule(w, "MARKA rule to delete"),
    "pool_settings:simulate": lambda w: {"pk": Pool.objects.get(tenant=w.tenant, is_default=True).pk},
}
