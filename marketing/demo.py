"""Demo data of marketing campaigns (see seed_campaigns) and of customer care: the birthday campaign with its coupon, a Gregorian (元旦), a lunar (中秋) and a
public-holiday (春节) campaign; contacts' marketing consent (most agreed at a trade fair or on the web form, a few
unsubscribed); birthdays today and tomorrow in the tenant's local date (one of each lunar); and last week's
greetings, delivered, with their coupons (one redeemed on an order). Idempotent and bulk."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db.models import DateTimeField, OuterRef, Subquery
from django.db.models.functions import Cast
from django.utils import timezone

from crm.models import OutboundMessage, Role, Team, User
from crm.workcalendar.selectors import local_today
from customers.models import Contact, Customer
from marketing.models import (
    Blast,
    BlastRecipient,
    CampaignMember,
    CareCampaign,
    Coupon,
    Greeting,
    MarketingCampaign,
    RfmCell,
    Segment,
)
from marketing.selectors.occasion import LUNAR_HOLIDAYS, lunar_day
from marketing.services.greeting import coupon_code
from marketing.services.member import members_pick
from marketing.services.rfm import rfm_compute
from sales.demo_history import seed_history
from sales.models import Lead, LeadOrigin, LeadStatus, Opportunity, Order, StageKind
from sales.services.lead_scoring import score_leads

CONSENT_SOURCES = ["2026 上海工博会登记表", "官网表单勾选", "销售拜访时口头同意（已录音）", "微信公众号关注"]

BIRTHDAY = {
    "name": "生日祝福",
    "kind": CareCampaign.Kind.BIRTHDAY,
    "send_hour": 9,
    "channel": CareCampaign.Channel.EMAIL,
    "email_subject": "{{ contact.name }}，祝您生日快乐！",
    "email_body": (
        "尊敬的{{ contact.name }}：\n\n值此生日之际，{{ customer.name }}的老朋友{{ owner.name }}祝您生日快乐、"
        "万事顺意！\n\n送上一张生日优惠券：{{ coupon.code }}（满 500 元减 50 元，{{ coupon.expires }} 前有效），"
        "下单时告诉我们即可使用。"
    ),
    "sms_body": "{{ contact.name }}您好，{{ owner.name }}祝您生日快乐！生日券{{ coupon.code }}满500减50，{{ coupon.expires }}前有效。",
    "coupon_kind": CareCampaign.CouponKind.AMOUNT,
    "coupon_value": Decimal("50"),
    "coupon_min_order": Decimal("500"),
    "coupon_valid_days": 30,
}
HOLIDAYS = [
    {
        "name": "中秋问候",
        "kind": CareCampaign.Kind.HOLIDAY,
        "date_kind": CareCampaign.DateKind.LUNAR,
        "month": 8,
        "day": 15,
        "send_hour": 10,
        "channel": CareCampaign.Channel.SMS,
        "email_subject": "中秋快乐",
        "email_body": "{{ contact.name }}：月圆人团圆，{{ owner.name }}祝您和家人中秋快乐！",
        "sms_body": "{{ contact.name }}，月圆人团圆，{{ owner.name }}祝您中秋快乐！",
    },
    {
        "name": "元旦回馈",
        "kind": CareCampaign.Kind.HOLIDAY,
        "date_kind": CareCampaign.DateKind.GREGORIAN,
        "month": 1,
        "day": 1,
        "send_hour": 9,
        "email_subject": "新年快乐，送您一张 9 折券",
        "email_body": "{{ contact.name }}：感谢一年来的支持！新年券 {{ coupon.code }} 享 9 折，{{ coupon.expires }} 前有效。",
        "coupon_kind": CareCampaign.CouponKind.PERCENT,
        "coupon_value": Decimal("10"),
        "coupon_valid_days": 31,
    },
    {
        # The lunar new year (正月初一, the form's 春节 preset): computed for any year, while the public-holiday
        # calendar (chinesecalendar) knows only the years the State Council has published.
        "name": "春节拜年",
        "kind": CareCampaign.Kind.HOLIDAY,
        "date_kind": CareCampaign.DateKind.LUNAR,
        "month": LUNAR_HOLIDAYS["spring_festival"][1],
        "day": LUNAR_HOLIDAYS["spring_festival"][2],
        "send_hour": 9,
        "email_subject": "给您拜年了",
        "email_body": "{{ contact.name }}：{{ owner.name }}给您拜年，祝新春大吉！",
    },
]


def seed_tenant(demo) -> None:
    seed_campaigns(demo)
    seed_segments(demo)
    seed_care(demo)


def seed_segments(demo) -> None:
    """The RFM scores of the year of orders the sales demo made, and two segments on them: the champions and
    loyal customers of East China (shared with the company), and the customers at risk of a manager's team."""
    tenant = demo.tenant
    _year_of_orders(tenant)
    rfm_compute(tenant_id=tenant.pk)
    if Segment.objects.filter(tenant=tenant).exists():
        return
    admin = User.objects.for_tenant(tenant).with_role(Role.ADMIN).order_by("pk").first()
    manager = User.objects.for_tenant(tenant).with_role(Role.MANAGER).order_by("pk").first()
    if admin is None:
        return
    Segment.objects.create(
        tenant=tenant,
        name="冠军客户（近一年）",
        description="最近买过、买得多、花得多的客户：新品发布会优先邀请",
        filters={"rfm_cell": RfmCell.CHAMPIONS.value},
        owner=admin,
        created_by=admin,
    )
    team = Team.objects.managed_by(manager).order_by("path").first() if manager else None
    Segment.objects.create(
        tenant=tenant,
        name="流失风险客户",
        description="曾经常购买、近期没有下单：本月安排回访",
        filters={"rfm_r": "1-2", "rfm_f": "3-5"},
        owner=manager if team else admin,
        team=team,
        created_by=manager if team else admin,
    )


RFM_ORDERS_MARK = "演示：一年的复购订单"


def _year_of_orders(tenant) -> None:
    """Repeat orders over the past year for most owned customers, a few heavy buyers and many occasional ones, so
    every RFM cell has customers; the customers' last deal follows. Once per tenant, in bulk."""
    if Order.objects.filter(tenant=tenant, notes=RFM_ORDERS_MARK).exists():
        return
    rng = random.Random(f"rfm-{tenant.slug}")
    today = local_today(tenant)
    customers = list(
        Customer.objects.filter(tenant=tenant, deleted_at__isnull=True, owner__isnull=False).order_by("pk")
    )
    orders = []
    for customer in customers:
        roll = rng.random()
        if roll < 0.2:
            continue
        heavy = roll > 0.85
        count = rng.randint(6, 14) if heavy else rng.choice([1, 1, 1, 2, 2, 3, 4])
        # Some stopped buying months ago; others bought recently.
        latest = rng.randint(1, 60) if rng.random() < 0.55 else rng.randint(90, 330)
        for k in range(count):
            days_ago = min(360, latest + k * rng.randint(10, 40))
            amount = Decimal(rng.choice([2000, 6800, 12800, 25600, 48000])) * (2 if heavy else 1)
            orders.append(
                Order(
                    tenant=tenant,
                    customer=customer,
                    ordered_on=today - timedelta(days=days_ago),
                    amount=amount,
                    currency=tenant.currency,
                    notes=RFM_ORDERS_MARK,
                    created_by=customer.owner,
                )
            )
    Order.objects.bulk_create(orders, batch_size=1000)
    last = (
        Order.objects.counted()
        .filter(tenant=tenant, customer=OuterRef("pk"))
        .order_by("-ordered_on")
        .values("ordered_on")[:1]
    )
    Customer.objects.filter(tenant=tenant, pk__in={o.customer_id for o in orders}).update(
        last_deal_at=Subquery(last.annotate(at=Cast("ordered_on", DateTimeField())).values("at"))
    )


def seed_care(demo) -> None:
    tenant = demo.tenant
    if CareCampaign.objects.filter(tenant=tenant).exists():
        return
    rng = random.Random(f"care-{tenant.slug}")
    now = timezone.now()
    birthday = CareCampaign.objects.create(tenant=tenant, **BIRTHDAY)
    for values in HOLIDAYS:
        CareCampaign.objects.create(tenant=tenant, **values)

    contacts = list(Contact.objects.filter(tenant=tenant, customer__deleted_at__isnull=True).order_by("pk"))
    for contact in contacts:
        roll = rng.random()
        if roll < 0.75:
            contact.marketing_consent = True
            contact.consent_at = now - timedelta(days=rng.randint(10, 400))
            contact.consent_source = rng.choice(CONSENT_SOURCES)
        elif roll < 0.8:
            contact.marketing_consent = True
            contact.consent_at = now - timedelta(days=rng.randint(200, 400))
            contact.consent_source = rng.choice(CONSENT_SOURCES)
            contact.unsubscribed_at = now - timedelta(days=rng.randint(1, 100))
            contact.unsubscribe_source = "unsubscribe link"
    # Birthdays today and tomorrow (the tenant's local days), a lunar one on each; and last week's birthdays, the
    # first of them a customer who ordered since (its coupon shows redeemed).
    today = local_today(tenant)
    consenting = [c for c in contacts if c.marketing_consent and c.unsubscribed_at is None]
    ordered = set(
        Order.objects.filter(tenant=tenant, amount__gte=birthday.coupon_min_order).values_list("customer_id", flat=True)
    )
    buyer = next((c for c in consenting if c.customer_id in ordered), None)
    others = [c for c in consenting if c is not buyer]
    picks = iter(rng.sample(others, k=min(len(others), 16)))
    for offset in (0, 1):
        day = today + timedelta(days=offset)
        for _ in range(3):
            contact = next(picks, None)
            if contact is not None:
                contact.birthday = _born(day, rng)
        contact = next(picks, None)
        if contact is not None:
            lunar = lunar_day(day)
            contact.lunar_birthday_month, contact.lunar_birthday_day = lunar.month, lunar.day
            contact.lunar_birthday_leap = lunar.leap
            contact.prefers_lunar_birthday = True
    last_week = []
    for offset in range(2, 8):
        contact = buyer if offset == 2 and buyer is not None else next(picks, None)
        if contact is not None:
            contact.birthday = _born(today - timedelta(days=offset), rng)
            last_week.append((contact, today - timedelta(days=offset)))
    Contact.objects.bulk_update(
        contacts,
        [
            "marketing_consent",
            "consent_at",
            "consent_source",
            "unsubscribed_at",
            "unsubscribe_source",
            "birthday",
            "lunar_birthday_month",
            "lunar_birthday_day",
            "lunar_birthday_leap",
            "prefers_lunar_birthday",
        ],
        batch_size=500,
    )
    _past_greetings(birthday, last_week, rng)


def _born(day, rng):
    year = rng.randint(1965, 1998)
    if (day.month, day.day) == (2, 29):
        year = 1992
    return day.replace(year=year)


def _past_greetings(campaign: CareCampaign, greeted, rng) -> None:
    """Last week's birthday greetings, as the job left them: delivered emails with coupons; one coupon redeemed."""
    tenant = campaign.tenant
    for contact, day in greeted:
        sent_at = timezone.now() - timedelta(days=(local_today(tenant) - day).days, hours=rng.randint(0, 3))
        greeting = Greeting.objects.create(
            tenant=tenant,
            campaign=campaign,
            contact=contact,
            customer_id=contact.customer_id,
            year=day.year,
            occasion=day,
            status=Greeting.Status.QUEUED,
            channel="email" if contact.email else "sms",
            created_at=sent_at,
        )
        coupon = Coupon.objects.create(
            tenant=tenant,
            campaign=campaign,
            greeting=greeting,
            customer_id=contact.customer_id,
            code=coupon_code(),
            kind=campaign.coupon_kind,
            value=campaign.coupon_value,
            min_order=campaign.coupon_min_order,
            expires_on=day + timedelta(days=campaign.coupon_valid_days),
            created_at=sent_at,
        )
        message = OutboundMessage.objects.create(
            tenant=tenant,
            channel=greeting.channel,
            to_address=contact.email or contact.mobile,
            subject=f"{contact.name}，祝您生日快乐！" if greeting.channel == "email" else "",
            body=f"尊敬的{contact.name}：祝您生日快乐！生日券 {coupon.code} 满 500 元减 50 元。",
            key=f"greeting:{greeting.pk}",
            status=OutboundMessage.Status.SENT,
            attempts=1,
            sent_at=sent_at,
        )
        Greeting.objects.filter(pk=greeting.pk).update(message=message)
    redeemable = (
        Coupon.objects.filter(campaign=campaign, customer__orders__amount__gte=campaign.coupon_min_order)
        .order_by("pk")
        .first()
    )
    if redeemable is not None:
        order = (
            Order.objects.filter(customer_id=redeemable.customer_id, amount__gte=campaign.coupon_min_order)
            .order_by("-ordered_on")
            .first()
        )
        redeemable.redeemed_at = timezone.now() - timedelta(days=1)
        redeemable.order = order
        redeemable.order_amount = order.amount
        redeemable.save(update_fields=["redeemed_at", "order", "order_amount"])
        # The order shows the coupon's 50 off, as coupon_redeem leaves it.
        Order.objects.filter(pk=order.pk).update(
            amount=order.amount - redeemable.value, coupon_code=redeemable.code, coupon_discount=redeemable.value
        )


# --- marketing campaigns ---------------------------------------------------------------------------------------

CAMPAIGNS = [
    # (name, code, kind, days ago it started, length in days, budget, actual cost, expected leads, expected revenue)
    ("2026 上海工业博览会", "2026春季展会", "event", 330, 4, 200000, 186000, 120, 1500000),
    ("双十一线上投放（百度 + 朋友圈）", "双十一促销", "ads", 40, 14, 80000, 65500, 150, 600000),
    ("新品发布会 · 杭州站", "新品发布会", "event", 150, 1, 50000, 42800, 60, 500000),
    ("老客户转介绍计划", "referral-2026", "referral", 270, 240, 20000, 12000, 40, 400000),
    ("秋季会员邮件群发", "autumn-email", "blast", 75, 7, 5000, 3200, 30, 150000),
]
LEAD_NAMES = (
    "王芳 李娜 张伟 刘洋 陈静 杨帆 赵磊 黄敏 周杰 吴婷 徐浩 孙丽 马超 朱琳 胡军 郭强 何雪 高峰 林涛 罗敏".split()
)
SIGN_IN_SOURCES = ["展会签到表", "发布会签到表"]


def seed_campaigns(demo) -> None:
    """Five marketing campaigns of the past year (an exhibition, online ads, a launch event, referrals, an email
    blast) with their costs; a year of leads carrying their codes, a share of them converted into the customers of
    the year's won and lost deals (first touch: the lead was created before the deal), so each campaign's ROI page
    has figures; the exhibition's sign-in list as members; a finished email blast with its recipients. Idempotent."""
    tenant = demo.tenant
    if MarketingCampaign.objects.filter(tenant=tenant).exists():
        return
    seed_history(demo)
    rng = random.Random(f"campaigns-{tenant.slug}")
    now = timezone.now()
    today = local_today(tenant)
    manager = demo.users.get("manager")
    campaigns = []
    for name, code, kind, ago, length, budget, cost, leads, revenue in CAMPAIGNS:
        starts = today - timedelta(days=ago)
        campaigns.append(
            MarketingCampaign.objects.create(
                tenant=tenant,
                name=name,
                code=code,
                kind=kind,
                status="done" if ago > length else "active",
                starts_on=starts,
                ends_on=starts + timedelta(days=length),
                owner=manager,
                currency=tenant.currency,
                budget=Decimal(budget),
                actual_cost=Decimal(cost),
                expected_leads=leads,
                expected_revenue=Decimal(revenue),
                description=f"{name}：线索按归因代码“{code}”统计。",
            )
        )
    weights = [5, 3, 2, 2, 1]

    def pick():
        return rng.choices(campaigns, weights=weights)[0]

    # Leads converted into the customers of the year's closed deals, created a few weeks before each customer's
    # first deal: the campaign touched them first.
    first_deal: dict[int, Opportunity] = {}
    closed = Opportunity.objects.filter(tenant=tenant, status__in=[StageKind.WON, StageKind.LOST]).order_by(
        "created_at"
    )
    for opportunity in closed.select_related("customer"):
        first_deal.setdefault(opportunity.customer_id, opportunity)
    new_leads = []
    for opportunity in first_deal.values():
        if rng.random() > 0.6:
            continue
        campaign = pick()
        created = max(
            opportunity.created_at - timedelta(days=rng.randint(7, 40)),
            now - timedelta(days=364),
        )
        new_leads.append(
            Lead(
                tenant=tenant,
                name=rng.choice(LEAD_NAMES),
                company=opportunity.customer.name,
                phone=f"+8613{rng.randint(100_000_000, 999_999_999)}",
                source="市场活动",
                campaign=campaign.code,
                origin=LeadOrigin.WEB_FORM if campaign.kind == "ads" else LeadOrigin.IMPORT,
                status=LeadStatus.CONVERTED,
                owner_id=opportunity.owner_id,
                customer_id=opportunity.customer_id,
                converted_at=min(created + timedelta(days=rng.randint(2, 10)), opportunity.created_at),
                converted_by_id=opportunity.owner_id,
                created_at=created,
            )
        )
    # And the year's other leads of each campaign: still open, or disqualified.
    for campaign in campaigns:
        for _ in range(rng.randint(15, 45)):
            started = timezone.make_aware(timezone.datetime.combine(campaign.starts_on, timezone.datetime.min.time()))
            created = min(started + timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 20)), now)
            status = rng.choice([LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED])
            new_leads.append(
                Lead(
                    tenant=tenant,
                    name=rng.choice(LEAD_NAMES),
                    company=f"{rng.choice(['苏州', '宁波', '无锡', '合肥', '南京'])}{rng.choice(LEAD_NAMES)[0]}氏实业有限公司",
                    phone=f"+8615{rng.randint(100_000_000, 999_999_999)}",
                    source="市场活动",
                    campaign=campaign.code,
                    origin=LeadOrigin.IMPORT,
                    status=status,
                    disqualified_reason="没有预算" if status == LeadStatus.DISQUALIFIED else "",
                    created_at=created,
                )
            )
    Lead.objects.bulk_create(new_leads, batch_size=500)
    # Scored as an import scores them.
    score_leads(tenant_id=tenant.pk, lead_ids=[lead.pk for lead in new_leads])

    # The exhibition's sign-in list: contacts who came (and some invited who did not).
    expo = campaigns[0]
    contacts = list(Contact.objects.filter(tenant=tenant, customer__deleted_at__isnull=True).order_by("pk")[:60])
    CampaignMember.objects.bulk_create(
        [
            CampaignMember(
                tenant=tenant,
                campaign=expo,
                contact=contact,
                name=contact.name,
                status="attended" if rng.random() < 0.7 else "invited",
                created_at=timezone.make_aware(timezone.datetime.combine(expo.starts_on, timezone.datetime.min.time())),
            )
            for contact in rng.sample(contacts, k=min(25, len(contacts)))
        ]
    )
    # The launch event's guests, picked by hand by the manager (Add members): three contacts and two leads.
    if manager is not None:
        launch = campaigns[2]
        guests = Contact.objects.filter(tenant=tenant, customer__in=Customer.objects.visible_to(manager).values("pk"))
        leads = Lead.objects.visible_to(manager).filter(campaign="").order_by("pk").values_list("pk", flat=True)
        contact_ids = list(guests.order_by("-pk").values_list("pk", flat=True)[:3])
        lead_ids = list(leads[:2])
        if contact_ids or lead_ids:
            members_pick(
                acting_user=manager,
                campaign=launch,
                contact_ids=contact_ids,
                lead_ids=lead_ids,
                status=CampaignMember.Status.INVITED,
            )
    _past_blast(campaigns[4], rng)
    Blast.objects.create(
        tenant=tenant,
        campaign=campaigns[1],
        name="双十一预热短信",
        channel=Blast.Channel.SMS,
        sms_body="{{ contact.name }}您好，双十一全场 9 折，{{ owner.name }}恭候您的咨询！",
        audience={},
    )


def _past_blast(campaign, rng) -> None:
    """A finished email blast of the autumn campaign, as the job leaves one: recipients messaged (delivered), and
    those skipped with their reason."""
    tenant = campaign.tenant
    sent_at = timezone.now() - timedelta(days=70)
    blast = Blast.objects.create(
        tenant=tenant,
        campaign=campaign,
        name="秋季会员关怀邮件",
        channel=Blast.Channel.EMAIL,
        email_subject="{{ contact.name }}，秋季会员专享礼遇",
        email_body="{{ contact.name }}您好：\n\n感谢{{ customer.name }}一直以来的支持，秋季会员可享专属折扣。\n\n—— {{ owner.name }}",
        audience={},
        send_at=sent_at,
        status=Blast.Status.DONE,
        started_at=sent_at,
        finished_at=sent_at + timedelta(minutes=5),
        created_at=sent_at - timedelta(days=1),
    )
    contacts = list(Contact.objects.filter(tenant=tenant, customer__deleted_at__isnull=True).order_by("pk")[:80])
    recipients = []
    for contact in contacts:
        if contact.unsubscribed_at is not None:
            status = BlastRecipient.Status.UNSUBSCRIBED
        elif not contact.marketing_consent:
            status = BlastRecipient.Status.NO_CONSENT
        elif not contact.email:
            status = BlastRecipient.Status.NO_ADDRESS
        else:
            status = BlastRecipient.Status.QUEUED
        recipients.append(
            BlastRecipient(
                tenant=tenant,
                blast=blast,
                contact=contact,
                customer_id=contact.customer_id,
                status=status,
                created_at=sent_at,
            )
        )
    BlastRecipient.objects.bulk_create(recipients)
    messages = [
        OutboundMessage(
            tenant=tenant,
            channel="email",
            to_address=r.contact.email,
            subject=f"{r.contact.name}，秋季会员专享礼遇",
            body=f"{r.contact.name}您好：感谢一直以来的支持，秋季会员可享专属折扣。",
            key=f"blast:{r.pk}",
            status=OutboundMessage.Status.SENT if rng.random() < 0.95 else OutboundMessage.Status.FAILED,
            attempts=1,
            sent_at=sent_at,
        )
        for r in recipients
        if r.status == BlastRecipient.Status.QUEUED
    ]
    OutboundMessage.objects.bulk_create(messages)
    by_key = {m.key: m for m in messages}
    for r in recipients:
        r.message = by_key.get(f"blast:{r.pk}")
    BlastRecipient.objects.bulk_update([r for r in recipients if r.message], ["message"])
