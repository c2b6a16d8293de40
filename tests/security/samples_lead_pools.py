"""Sample URL arguments for the lead pools' pages (see samples_crm.py for the contract)."""

from django.utils import timezone

from sales.models import Lead, LeadPool, LeadPoolTeam

from .marks import named


def _pool(world) -> LeadPool:
    pool, _created = LeadPool.objects.get_or_create(
        tenant=world.tenant, name=named(world, "MARKA 线索池"), defaults={"no_followup_days": 30}
    )
    LeadPoolTeam.objects.get_or_create(tenant=world.tenant, pool=pool, team=world.sales)
    return pool


def _lead(world, name, **fields) -> Lead:
    lead, _created = Lead.objects.get_or_create(
        tenant=world.tenant,
        name=named(world, name),
        defaults={"pool": _pool(world), "wechat": named(world, "wx_MARKA"), "phone": "+8613700137000", **fields},
    )
    return lead


SAMPLES = {
    "sales:lead_pool_detail": lambda w: {"pk": _pool(w).pk},
    "sales:lead_pool_assign": lambda w: {"pk": _pool(w).pk},
    # Claiming is destructive: a lead of its own, claimed by A's rep in the sweep's final check.
    "sales:lead_pool_claim": lambda w: {"pk": _lead(w, "MARKA claim this lead").pk},
    "sales:lead_release": lambda w: {"pk": _lead(w, "MARKA held lead", owner=w.rep1, owned_since=timezone.now()).pk},
    "sales:lead_extension_request": lambda w: {
        "pk": _lead(w, "MARKA held lead", owner=w.rep1, owned_since=timezone.now()).pk
    },
    "sales:lead_pool_settings_edit": lambda w: {"pk": _pool(w).pk},
    "sales:lead_pool_settings_simulate": lambda w: {"pk": _pool(w).pk},
}

VIEWERS = {
    "sales:lead_pool_detail": "rep1",
    "sales:lead_pool_assign": "manager",
    "sales:lead_pool_claim": "rep1",
    "sales:lead_release": "rep1",
    "sales:lead_extension_request": "rep1",
}
