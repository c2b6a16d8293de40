"""Helpers of the lead pool tests: a pool seen by the sales team, leads waiting in it, leads held since a while."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from sales.models import Lead, LeadPool, LeadPoolTeam


def lead_pool(world, name="公共线索池", team=None, **rules) -> LeadPool:
    pool = LeadPool.objects.create(tenant=world.tenant, name=name, **rules)
    LeadPoolTeam.objects.create(tenant=world.tenant, pool=pool, team=team or world.sales)
    return pool


def pooled_leads(world, pool, prefix="池中线索", count=1, **fields) -> list[Lead]:
    return [
        Lead.objects.create(
            tenant=world.tenant,
            name=f"{prefix}{i}",
            phone=f"+86138{i:08d}",
            email=f"lead{i}@example.cn",
            wechat=f"wx_pool_{i}",
            pool=pool,
            **fields,
        )
        for i in range(count)
    ]


def held_lead(world, owner, pool, name, *, owned_days_ago, followed_days_ago=None, **fields) -> Lead:
    now = timezone.now()
    return Lead.objects.create(
        tenant=world.tenant,
        name=name,
        wechat=f"wx_{abs(hash(name)) % 10**8}",
        pool=pool,
        owner=owner,
        owned_since=now - dt.timedelta(days=owned_days_ago),
        last_followed_up_at=(now - dt.timedelta(days=followed_days_ago)) if followed_days_ago is not None else None,
        **fields,
    )
