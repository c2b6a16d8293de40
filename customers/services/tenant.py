"""A new tenant's customer defaults: levels A/B/C, the default pool and the region, industry and source lists."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from crm.models import Team, Tenant
from customers.models import (
    CustomerLevel,
    Pool,
    PoolTeam,
)
from customers.services.choice_list import choice_lists_seed

DEFAULT_LEVELS = [
    ("A", "重点客户", ["重点客户", "重要客户", "VIP", "A类"]),
    ("B", "普通客户", ["普通客户", "一般客户", "B类"]),
    ("C", "小客户", ["小客户", "低价值客户", "C类"]),
]


def tenant_defaults(*, tenant: Tenant) -> None:
    """A new tenant's default pool, customer levels and value lists (idempotent)."""
    with translation.override(tenant.language):
        pool_name = _("Public pool")
    pool, created = Pool.objects.get_or_create(tenant=tenant, is_default=True, defaults={"name": pool_name})
    if created:
        # A new company's default pool is open to its top-level teams (and so to every team under them).
        PoolTeam.objects.bulk_create(
            [
                PoolTeam(tenant=tenant, pool=pool, team=team)
                for team in Team.objects.for_tenant(tenant).filter(parent=None)
            ]
        )
    for order, (code, name, aliases) in enumerate(DEFAULT_LEVELS):
        CustomerLevel.objects.get_or_create(
            tenant=tenant, code=code, defaults={"name": name, "aliases": aliases, "order": order}
        )
    choice_lists_seed(tenant=tenant)


def default_pool(tenant: Tenant) -> Pool:
    pool = Pool.objects.filter(tenant=tenant, is_default=True).first()
    if pool is None:
        tenant_defaults(tenant=tenant)
        pool = Pool.objects.get(tenant=tenant, is_default=True)
    return pool
