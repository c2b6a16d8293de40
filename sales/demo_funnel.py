"""Demo data of the sales funnel (called by sales.demo.seed_tenant): scoring rules, a published web form, leads in
every status — duplicates of customers and of other leads among them —, the default "new business" pipeline and a
"renewals" one, opportunities across their stages with a plausible stage history, some won with their orders (the
customers' last deal moved through customers.services.customer.record_deal). Bulk and idempotent."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.models import Role, User
from customers.models import Contact, Customer
from customers.normalize import normalize_company_name
from customers.services.customer import record_deal
from customers.services.identifier import Identifier, find_duplicate
from sales.services.lead_privacy import lead_personal_data_reveal
from sales.services.lead_scoring import score_leads
from sales.services.pipeline import ensure_default_pipeline

from .models import (
    FollowUp,
    Lead,
    LeadScoringRule,
    LeadWebForm,
    Opportunity,
    OpportunityLine,
    Order,
    OrderLine,
    Pipeline,
    Stage,
    StageChange,
    StageKind,
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "建华",
    "志强",
    "晓燕",
]
CITIES = ["杭州", "苏州", "成都", "武汉", "西安", "青岛", "厦门", "长沙", "宁波", "无锡"]
KINDS = ["科技", "贸易", "实业", "物流", "电子", "医疗器械", "教育咨询", "建材"]
TITLES = ["采购经理", "总经理", "IT主管", "行政专员", "销售总监", "财务经理", "运营负责人"]
SOURCES = ["官网", "展会", "老客户介绍", "百度推广", "抖音", "电话营销"]
CAMPAIGNS = ["", "", "2026春季展会", "双十一促销", "新品发布会"]
MESSAGES = [
    "想了解一下专业版的价格和实施周期。",
    "我们有 50 人的销售团队，需要客户管理和公海功能。",
    "请发一份产品资料，谢谢。",
    "",
    "能否安排一次线上演示？",
]
LEAD_NOTES = [
    "电话沟通了需求，客户下周给答复。",
    "微信发了产品介绍和报价。",
    "邮件回复了价格问题。",
    "电话未接通，已发短信。",
]
LOST_REASONS = ["价格高于竞品", "客户预算取消", "选择了竞品", "项目延期到明年"]
PRODUCTS = [
    ("CRM 专业版（年）", Decimal("12800")),
    ("实施服务（人天）", Decimal("2000")),
    ("培训服务", Decimal("3000")),
]


def _rules(tenant, admin) -> None:
    rules = [
        ("source", "one_of", "官网, 老客户介绍", 20),
        ("phone", "is_set", "", 10),
        ("email", "is_set", "", 5),
        ("title", "contains", "经理", 10),
        ("title", "contains", "总", 15),
        ("industry", "one_of", "制造业, 金融, 医疗", 15),
        ("email", "ends_with", "@qq.com", -5),
        ("message", "contains", "演示", 10),
    ]
    LeadScoringRule.objects.bulk_create(
        [
            LeadScoringRule(
                tenant=tenant, field=f, condition=c, value=v, points=p, position=i, created_by=admin, is_active=True
            )
            for i, (f, c, v, p) in enumerate(rules)
        ]
    )


def _renewals(tenant, admin) -> Pipeline:
    with translation.override(tenant.language):
        name = pgettext("pipeline", "Renewals")
        pipeline = Pipeline.objects.create(tenant=tenant, name=name, position=1, created_by=admin)
        stages = [
            (pgettext("pipeline stage", "Renewal due"), 40),
            (pgettext("pipeline stage", "Quote sent"), 70),
            (pgettext("pipeline stage", "Negotiation"), 85),
        ]
        objs = [
            Stage(tenant=tenant, pipeline=pipeline, name=n, probability=p, position=i, created_by=admin)
            for i, (n, p) in enumerate(stages)
        ]
        objs.append(
            Stage(tenant=tenant, pipeline=pipeline, name=pgettext("pipeline stage", "Won"), kind="won", probability=100)
        )
        objs.append(
            Stage(tenant=tenant, pipeline=pipeline, name=pgettext("pipeline stage", "Lost"), kind="lost", probability=0)
        )
    Stage.objects.bulk_create(objs)
    return pipeline


def _phone(rng: random.Random) -> str:
    return f"+86{rng.choice(['135', '136', '137', '150', '158', '186', '189'])}{rng.randint(10_000_000, 99_999_999)}"


def seed_funnel(demo) -> None:
    tenant = demo.tenant
    if Lead.objects.filter(tenant=tenant).exists() or Opportunity.objects.filter(tenant=tenant).exists():
        return
    reps = list(User.objects.for_tenant(tenant).with_role(Role.REP).filter(is_active=True).order_by("email"))
    admin = User.objects.for_tenant(tenant).with_role(Role.ADMIN).order_by("pk").first()
    if not reps or admin is None:
        return
    rng = random.Random(f"funnel-{tenant.slug}")
    now = timezone.now()
    tz = tenant.tzinfo
    today = timezone.localtime(now, tz).date()
    with transaction.atomic():
        new_business = ensure_default_pipeline(tenant)
        renewals = _renewals(tenant, admin)
        _rules(tenant, admin)
        with translation.override(tenant.language):
            LeadWebForm.objects.create(
                tenant=tenant,
                is_enabled=True,
                title=_("Contact %(company)s") % {"company": tenant.name},
                intro=_("Tell us how to reach you and what you need; we will get back to you soon."),
                thank_you=_("Thank you! We have received your message and will contact you soon."),
                fields=["name", "company", "phone", "email", "message"],
                required_fields=["name", "phone"],
                owner=reps[0] if tenant.slug == "demo" else None,
                source="官网",
                created_by=admin,
            )
        leads = _leads(tenant, reps, rng, now)
        _convert_some(tenant, reps, leads, now)
        Lead.objects.bulk_create(leads, batch_size=500)
        _link_duplicates(tenant, leads)
        FollowUp.objects.bulk_create(
            [
                FollowUp(
                    tenant=tenant,
                    lead=lead,
                    author_id=lead.owner_id,
                    kind=rng.choice(["call", "wechat", "email"]),
                    content=rng.choice(LEAD_NOTES),
                    outcome=rng.choice(["positive", "neutral", "unreached"]),
                    happened_at=lead.last_followed_up_at,
                    created_at=lead.last_followed_up_at,
                    created_by_id=lead.owner_id,
                )
                for lead in leads
                if lead.last_followed_up_at
            ]
        )
        score_leads(tenant_id=tenant.pk)
        _lead_reveals(tenant, leads)
        _opportunities(tenant, reps, admin, rng, now, today, [new_business, renewals])


def _lead_reveals(tenant, leads: list[Lead]) -> None:
    """A manager looked up the phones of two of their reps' leads (masked to them): the admin finds them under
    Settings → Privacy log, beside the contacts' reveals."""
    manager = User.objects.for_tenant(tenant).with_role(Role.MANAGER).order_by("email").first()
    if manager is None:
        return
    owned = [lead for lead in leads if lead.owner_id and lead.owner_id != manager.pk and lead.phone][:2]
    for lead in owned:
        lead_personal_data_reveal(user=manager, lead=lead, fields=["phone"])


def _leads(tenant, reps, rng, now) -> list[Lead]:
    size = 40 if tenant.slug == "demo" else 10
    # Some leads are people who are already customers: their phone belongs to a live customer's contact.
    customer_contacts = list(
        Contact.objects.filter(tenant=tenant, customer__deleted_at__isnull=True)
        .exclude(mobile="")
        .select_related("customer")
        .order_by("pk")[:3]
    )
    statuses = ["new"] * 12 + ["contacted"] * 10 + ["qualified"] * 8 + ["disqualified"] * 4 + ["converted"] * 2
    leads = []
    for i in range(size):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        company = (
            f"{rng.choice(CITIES)}{rng.choice(SURNAMES)}{rng.choice(KINDS)}有限公司" if rng.random() < 0.85 else ""
        )
        status = statuses[(i * 7) % len(statuses)]
        owner = None if i % 7 == 0 else reps[i % len(reps)]
        created = now - timedelta(days=rng.randint(0, 45), hours=rng.randint(0, 20))
        email = f"lead{i}@{rng.choice(['qq.com', '163.com', 'example.cn'])}" if rng.random() < 0.7 else ""
        lead = Lead(
            tenant=tenant,
            name=name,
            company=company,
            company_key=normalize_company_name(company),
            title=rng.choice(TITLES),
            phone=_phone(rng),
            email=email,
            region=rng.choice(CITIES),
            industry=rng.choice(["制造业", "零售", "金融", "医疗", "互联网", "物流"]),
            message=rng.choice(MESSAGES),
            source=rng.choice(SOURCES),
            campaign=rng.choice(CAMPAIGNS),
            origin=rng.choice(["manual", "import", "web_form", "web_form"]),
            status=status if status != "converted" else "qualified",
            disqualified_reason=rng.choice(["没有预算", "只是同行了解", "联系不上"])
            if status == "disqualified"
            else "",
            owner=owner,
            created_at=created,
            last_followed_up_at=min(created + timedelta(hours=3), now) if status != "new" and owner else None,
        )
        lead.demo_converted = status == "converted" and owner is not None
        leads.append(lead)
    # Duplicates: one asks again with the same phone as an earlier lead, one with the same company name, and a few
    # are people already customers of the tenant.
    if len(leads) > 6:
        leads[-1].phone = leads[1].phone
        leads[-1].status = "new"
        leads[-2].company, leads[-2].company_key = (
            leads[2].company or "杭州示例科技有限公司",
            normalize_company_name(leads[2].company or "杭州示例科技有限公司"),
        )
        leads[-2].status = "new"
    for offset, contact in enumerate(customer_contacts):
        lead = leads[3 + offset * 5] if 3 + offset * 5 < len(leads) else None
        if lead is not None:
            lead.phone, lead.name, lead.status = contact.mobile, contact.name, "new"
    return leads


def _convert_some(tenant, reps, leads: list[Lead], now) -> None:
    """A couple of leads already became customers of their owner."""
    by_owner: dict[int, list[Customer]] = {}
    for customer in Customer.objects.filter(tenant=tenant, owner__in=reps, deleted_at__isnull=True).order_by("-pk")[
        :50
    ]:
        by_owner.setdefault(customer.owner_id, []).append(customer)
    for lead in leads:
        if getattr(lead, "demo_converted", False) and by_owner.get(lead.owner_id):
            lead.status = "converted"
            lead.customer = by_owner[lead.owner_id].pop()
            lead.converted_at = min(lead.created_at + timedelta(days=2), now)
            lead.converted_by_id = lead.owner_id


def _link_duplicates(tenant, leads: list[Lead]) -> None:
    """Flag the demo leads the way sales.leads does: a customer first, then the earliest lead sharing a value."""
    seen: dict[tuple[str, str], Lead] = {}
    for lead in sorted(leads, key=lambda x: (x.created_at, x.pk)):
        keys = [("phone", lead.phone), ("email", lead.email), ("company", lead.company_key)]
        keys = [(k, v) for k, v in keys if v]
        identifiers = [Identifier(k, v, k) for k, v in keys]
        hit = find_duplicate(tenant, identifiers)
        earlier = next((seen[k] for k in keys if k in seen), None)
        if hit or earlier:
            lead.is_duplicate = True
            lead.duplicate_kind = hit[0].kind if hit else next(k for k in keys if k in seen)[0]
            lead.duplicate_of_customer = hit[1] if hit else None
            lead.duplicate_of_lead = earlier
        for key in keys:
            seen.setdefault(key, lead)
    Lead.objects.bulk_update(
        [lead for lead in leads if lead.is_duplicate],
        ["is_duplicate", "duplicate_kind", "duplicate_of_customer", "duplicate_of_lead"],
    )


def _opportunities(tenant, reps, admin, rng, now, today, pipelines) -> None:
    stages = {p.pk: list(Stage.objects.filter(pipeline=p).ordered()) for p in pipelines}
    customers = list(
        Customer.objects.filter(tenant=tenant, owner__in=reps, deleted_at__isnull=True).order_by("pk")[:60]
    )
    if not customers:
        return
    size = 30 if tenant.slug == "demo" else 8
    opportunities, histories, lines_by, orders = [], [], [], []
    for i in range(size):
        customer = customers[i % len(customers)]
        pipeline = pipelines[0] if i % 4 else pipelines[1]
        path = stages[pipeline.pk]
        open_stages = [s for s in path if s.kind == StageKind.OPEN]
        won = next(s for s in path if s.kind == StageKind.WON)
        lost = next(s for s in path if s.kind == StageKind.LOST)
        roll = i % 10
        if roll < 6:
            target = open_stages[i % len(open_stages)]
        elif roll < 8:
            target = won
        else:
            target = lost
        reached = open_stages[: open_stages.index(target) + 1] if target.kind == StageKind.OPEN else open_stages
        if target.kind == StageKind.LOST:
            reached = open_stages[: rng.randint(1, len(open_stages))]
        chosen = rng.sample(PRODUCTS, k=rng.randint(1, 2))
        lines = [(name, Decimal(rng.randint(1, 4)), price) for name, price in chosen]
        amount = sum((q * p for _n, q, p in lines), Decimal("0"))
        steps = [*reached, target] if target.kind != StageKind.OPEN else reached
        # The last move is recent (closed ones show on the board for 30 days); earlier moves a few days apart.
        at = now - timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 12))
        moments = [at]
        for _step in steps[1:]:
            moments.insert(0, moments[0] - timedelta(days=rng.randint(2, 9), hours=rng.randint(0, 8)))
        start = moments[0]
        history = []
        previous = None
        for stage, moment in zip(steps, moments, strict=True):
            history.append((previous, stage, moment))
            previous = stage
        entered = history[-1][2]
        closed = entered if target.kind != StageKind.OPEN else None
        opportunity = Opportunity(
            tenant=tenant,
            name=chosen[0][0] if pipeline == pipelines[0] else f"{chosen[0][0]} · {pipeline.name}",
            customer=customer,
            pipeline=pipeline,
            stage=target,
            status=target.kind,
            owner_id=customer.owner_id,
            amount=amount,
            currency=tenant.currency,
            expected_close_date=today + timedelta(days=rng.randint(-5, 60)) if target.kind == StageKind.OPEN else None,
            lost_reason=rng.choice(LOST_REASONS) if target.kind == StageKind.LOST else "",
            stage_entered_at=entered,
            closed_at=closed,
            created_at=start,
            created_by_id=customer.owner_id,
        )
        opportunities.append(opportunity)
        histories.append(history)
        lines_by.append(lines)
        if target.kind == StageKind.WON:
            ordered_on = timezone.localtime(closed, tenant.tzinfo).date()
            order = Order(
                tenant=tenant,
                customer=customer,
                ordered_on=ordered_on,
                amount=amount,
                currency=tenant.currency,
                notes=f"Won opportunity “{opportunity.name}”",
                created_by_id=customer.owner_id,
                created_at=closed,
            )
            orders.append((opportunity, order, lines))
    funnel_rows_save(
        tenant=tenant, orders=orders, opportunities=opportunities, lines_by=lines_by, histories=histories, now=now
    )


def funnel_rows_save(*, tenant, orders, opportunities, lines_by, histories, now) -> None:
    """Write a demo funnel's rows in bulk: the won deals' orders and lines, the opportunities and their lines, each
    opportunity's stage history, and the customers' last deal dates."""
    Order.objects.bulk_create([o for _opp, o, _l in orders])
    OrderLine.objects.bulk_create(
        [
            OrderLine(tenant=tenant, order=o, position=i, name=n, quantity=q, unit_price=p)
            for _opp, o, lines in orders
            for i, (n, q, p) in enumerate(lines)
        ]
    )
    for opportunity, order, _lines in orders:
        opportunity.order = order
    Opportunity.objects.bulk_create(opportunities)
    OpportunityLine.objects.bulk_create(
        [
            OpportunityLine(tenant=tenant, opportunity=o, position=i, name=n, quantity=q, unit_price=p)
            for o, lines in zip(opportunities, lines_by, strict=True)
            for i, (n, q, p) in enumerate(lines)
        ]
    )
    StageChange.objects.bulk_create(
        [
            StageChange(
                tenant=tenant,
                opportunity=o,
                pipeline_id=o.pipeline_id,
                from_stage=previous,
                to_stage=stage,
                at=at,
                by_id=o.owner_id,
                amount=o.amount,
                currency=o.currency,
                note=o.lost_reason if stage.kind == StageKind.LOST else "",
            )
            for o, history in zip(opportunities, histories, strict=True)
            for previous, stage, at in history
        ]
    )
    for _opportunity, order, _lines in orders:
        deal = min(timezone.make_aware(datetime.combine(order.ordered_on, time(12)), tenant.tzinfo), now)
        record_deal(customer_id=order.customer_id, at=deal, tenant_id=tenant.pk)
