"""Demo lead pools (线索池): a default pool seen by the sales department with its rules (展会 leads get longer, leads
tagged 高意向 shorter), leads waiting to be claimed, and leads of the demo reps about to fall back. Idempotent and
bulk."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from customers.models import Tag

from .models import Lead, LeadPool, LeadPoolRule, LeadPoolTeam, LeadTag, Product
from .services.lead_scoring import score_leads

HOT_TAG = "高意向"
# Leads tagged 高意向: 卫东 (held, no product line), followed up two days ago, falls back in three days under the
# tag's rule; 赵敏 waits in the pool.
HOT_LEADS = {"卫东", "赵敏"}

WAITING = [
    ("王磊", "杭州云启信息技术有限公司", "官网", "+8613857100001"),
    ("赵敏", "苏州工业园区智造科技有限公司", "展会", "+8613962100002"),
    ("孙浩", "南京鼎盛建材贸易有限公司", "百度推广", "+8613770100003"),
    ("周婷", "上海星河文化传媒有限公司", "官网", "+8613601600004"),
    ("吴强", "合肥新能动力电池有限公司", "展会", "+8615556100005"),
    ("郑洁", "宁波海港物流有限公司", "转介绍", "+8613605700006"),
]
# (name, company, source, days held, days since the last follow-up): the first ones fall back within days.
HELD = [
    ("钱峰", "无锡华瑞精密机械有限公司", "官网", 20, 13),
    ("冯雪", "常州绿源环保科技有限公司", "百度推广", 30, 12),
    ("陈刚", "嘉兴恒达纺织有限公司", "展会", 40, 27),
    ("褚琳", "绍兴越秀酒业有限公司", "官网", 10, 3),
    ("卫东", "扬州东升电气有限公司", "官网", 10, 2),
]


def seed_lead_pools(demo) -> None:
    tenant = demo.tenant
    if LeadPool.objects.filter(tenant=tenant).exists() or "sales" not in demo.teams:
        return
    pool = LeadPool.objects.create(
        tenant=tenant,
        name="公共线索池",
        is_default=True,
        no_followup_days=14,
        no_conversion_days=90,
        warn_days_before=3,
        max_claims_per_day=10,
        reclaim_cooldown_days=7,
    )
    LeadPoolTeam.objects.create(tenant=tenant, pool=pool, team=demo.teams["sales"])
    LeadPoolRule.objects.create(tenant=tenant, pool=pool, source="展会", no_followup_days=30)
    # A product line with a longer cycle: its leads get three weeks between follow-ups.
    product = Product.objects.filter(tenant=tenant, is_active=True).order_by("code").first()
    if product is not None:
        LeadPoolRule.objects.create(tenant=tenant, pool=pool, product=product, no_followup_days=21)
    # Leads tagged 高意向 (the customers' demo tags) are worked fast: five days between follow-ups.
    hot = Tag.objects.filter(tenant=tenant, name=HOT_TAG).first()
    if hot is not None:
        LeadPoolRule.objects.create(tenant=tenant, pool=pool, tag=hot, no_followup_days=5)
    fair = LeadPool.objects.create(tenant=tenant, name="展会线索池", no_followup_days=30, max_claims_per_day=5)
    for key in ("east", "north"):
        if key in demo.teams:
            LeadPoolTeam.objects.create(tenant=tenant, pool=fair, team=demo.teams[key])
    now = timezone.now()
    rows = [
        Lead(
            tenant=tenant,
            name=name,
            company=company,
            source=source,
            phone=phone,
            pool=fair if source == "展会" else pool,
            message="想了解一下贵司的产品报价和实施周期。",
            created_at=now - timedelta(days=i + 1),
        )
        for i, (name, company, source, phone) in enumerate(WAITING)
    ]
    reps = [u for key, u in sorted(demo.users.items()) if key.startswith("rep")]
    for i, (name, company, source, held, followed) in enumerate(HELD):
        if not reps:
            break
        rows.append(
            Lead(
                tenant=tenant,
                name=name,
                company=company,
                source=source,
                wechat=f"wx_demo_{i}",
                pool=pool,
                owner=reps[i % len(reps)],
                owned_since=now - timedelta(days=held),
                last_followed_up_at=now - timedelta(days=followed),
                status=Lead.Status.CONTACTED,
                product=product if i % 2 else None,
                created_at=now - timedelta(days=held),
            )
        )
    Lead.objects.bulk_create(rows)
    # Scored as every new lead is: the lead pages show their score and the rules behind it.
    score_leads(tenant_id=tenant.pk, lead_ids=[lead.pk for lead in rows])
    if hot is not None:
        LeadTag.objects.bulk_create(
            [LeadTag(tenant=tenant, lead=lead, tag=hot) for lead in rows if lead.name in HOT_LEADS]
        )
