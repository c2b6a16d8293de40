"""Sample URL arguments for the public pool's pages (see samples_crm.py for the contract)."""

from customers.models import Customer, Pool, PoolTeam, ViewQuota

from .marks import named


def _pool_customer(world, name="MARKA pool customer"):
    pool = Pool.objects.get(tenant=world.tenant, is_default=True)
    PoolTeam.objects.get_or_create(tenant=world.tenant, pool=pool, team=world.sales)
    return Customer.objects.get(tenant=world.tenant, name=named(world, name))


def _owned(world):
    return Customer.objects.get(tenant=world.tenant, name=named(world, "MARKA 云帆科技有限公司"))


def _view_quota(world, team_attr="team1"):
    quota, _created = ViewQuota.objects.get_or_create(
        tenant=world.tenant, team=getattr(world, team_attr), defaults={"daily_limit": 20, "role": ""}
    )
    return {"pk": quota.pk}


SAMPLES = {
    "pool_settings:view_quota_edit": _view_quota,
    # Deleting is destructive: a quota of its own, so the edit page's sample survives the sweep's final check.
    "pool_settings:view_quota_delete": lambda w: _view_quota(w, "team2"),
    "pool:customer": lambda w: {"pk": _pool_customer(w).pk},
    # Claiming is destructive: a customer of its own, claimed by A's rep in the sweep's final check.
    "pool:claim": lambda w: {"pk": _pool_customer(w, "MARKA claim me").pk},
    "pool:release": lambda w: {"pk": _owned(w).pk},
    "pool:extension_request": lambda w: {"pk": _owned(w).pk},
    "pool_settings:edit": lambda w: {"pk": Pool.objects.get(tenant=w.tenant, is_default=True).pk},
}

VIEWERS = {
    "pool:customer": "rep1",
    "pool:claim": "rep1",
    "pool:release": "rep1",
    "pool:extension_request": "rep1",
}
