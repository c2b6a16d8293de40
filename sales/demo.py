"""Demo data of the sales app: follow-ups, tasks (some overdue, some today, one reminder a few minutes ahead),
this week's appointments (one overlap) and orders, for the demo reps; and the funnel: scoring rules, a published
web form, leads in every status (duplicates among them), two pipelines, opportunities across their stages with
their stage history, some won with their orders. Idempotent and bulk."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from crm.models import Role, User
from customers.models import Contact, Customer
from customers.services.customer import record_deal, record_follow_up

from .demo_funnel import seed_funnel
from .demo_lead_pool import seed_lead_pools
from .demo_quote import seed_quotes
from .models import Appointment, AppointmentAttendee, AppointmentContact, FollowUp, Order, OrderLine, Task

FOLLOW_UP_TEXTS = [
    ("call", "电话沟通了新一季的采购计划，客户对报价有兴趣。", "positive", "发送正式报价单"),
    ("wechat", "微信发了产品资料，客户说下周内部讨论。", "neutral", "下周三再跟进"),
    ("visit", "上门拜访，见了采购经理和技术负责人，演示了系统。", "positive", "安排试用账号"),
    ("call", "电话未接通，已发短信留言。", "unreached", "明天上午再打"),
    ("meeting", "线上会议讨论合同条款，对付款方式有异议。", "neutral", "法务确认付款条款"),
    ("email", "邮件回复了客户关于售后服务的问题。", "neutral", ""),
    ("call", "客户表示预算削减，今年暂不采购。", "negative", "三个月后回访"),
    ("note", "客户公司刚完成融资，可能有新的需求。", "positive", "约下次拜访"),
]
TASK_TITLES = ["回访电话", "发送报价单", "确认合同条款", "安排产品演示", "催收货款", "寄送样品", "准备投标资料"]
PRODUCTS = [
    ("CRM 标准版（年）", Decimal("6800")),
    ("CRM 专业版（年）", Decimal("12800")),
    ("实施服务（人天）", Decimal("2000")),
    ("培训服务", Decimal("3000")),
    ("短信包（1万条）", Decimal("450")),
]
PLACES = ["客户公司会议室", "公司3楼会议室", "腾讯会议", "星巴克（国贸店）", "展会 B馆 12号"]


def seed_tenant(demo) -> None:
    seed_activities(demo)
    seed_funnel(demo)
    seed_quotes(demo)
    seed_lead_pools(demo)


def seed_activities(demo) -> None:
    tenant = demo.tenant
    if FollowUp.objects.filter(tenant=tenant).exists() or Task.objects.filter(tenant=tenant).exists():
        return
    rng = random.Random(f"sales-{tenant.slug}")
    tz = tenant.tzinfo
    now = timezone.now()
    local_now = timezone.localtime(now, tz)
    today = local_now.date()

    def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
        return timezone.make_aware(datetime.combine(today + timedelta(days=day_offset), time(hour, minute)), tz)

    reps = list(User.objects.for_tenant(tenant).with_role(Role.REP).filter(is_active=True).order_by("email"))
    managers = list(User.objects.for_tenant(tenant).with_role(Role.MANAGER).order_by("email"))
    if not reps:
        return
    by_owner: dict[int, list[Customer]] = {}
    for customer in Customer.objects.filter(tenant=tenant, owner__in=reps, deleted_at__isnull=True).order_by("pk"):
        by_owner.setdefault(customer.owner_id, []).append(customer)
    contacts: dict[int, list[Contact]] = {}
    for contact in Contact.objects.filter(tenant=tenant, customer__owner__in=reps).order_by("pk"):
        contacts.setdefault(contact.customer_id, []).append(contact)

    follow_ups: list[FollowUp] = []
    tasks: list[Task] = []
    appointments: list[tuple[Appointment, list[User], list[Contact]]] = []
    orders: list[tuple[Order, list[OrderLine]]] = []

    for index, rep in enumerate(reps):
        mine = by_owner.get(rep.pk, [])
        if not mine:
            continue
        followed = rng.sample(mine, k=min(8, len(mine)))
        for customer in followed:
            for _ in range(rng.randint(1, 3)):
                kind, text, outcome, next_step = rng.choice(FOLLOW_UP_TEXTS)
                happened = now - timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 8), minutes=rng.randint(0, 59))
                who = contacts.get(customer.pk, [None])[0]
                follow_ups.append(
                    FollowUp(
                        tenant=tenant,
                        customer=customer,
                        contact=who,
                        author=rep,
                        kind=kind,
                        content=text,
                        outcome=outcome,
                        next_step=next_step,
                        happened_at=happened,
                        created_at=happened,
                        created_by=rep,
                    )
                )

        def task(title, due, remind=None, customer=None, done=False, rep=rep):
            tasks.append(
                Task(
                    tenant=tenant,
                    title=title,
                    assignee=rep,
                    customer=customer,
                    due_at=due,
                    remind_at=remind,
                    # Past reminders of the demo count as sent, so the first beat run does not flood the inbox.
                    reminder_sent_at=remind if remind and remind <= now else None,
                    done_at=due if done else None,
                    done_by=rep if done else None,
                    created_by=rep,
                    created_at=now - timedelta(days=3),
                )
            )

        def about_customer(due, remind=None, done=False, title=None, mine=mine):
            customer = rng.choice(mine)
            task(
                f"{title or rng.choice(TASK_TITLES)} · {customer.name[:20]}", due, remind, customer=customer, done=done
            )

        about_customer(at(-2, 10))
        about_customer(at(-1, 15), at(-1, 14, 30))
        later_today = max(local_now + timedelta(hours=1), at(0, 11))
        about_customer(min(later_today, at(0, 23, 30)))
        task("整理本周客户拜访记录", at(0, 18), at(0, 17, 30))
        if index == 0:
            # A reminder a few minutes ahead: the running worker (make run) delivers it shortly after seeding.
            soon = now + timedelta(minutes=3)
            task(f"回访电话 · {mine[0].name[:20]}", soon + timedelta(minutes=30), soon, customer=mine[0])
        for day in (1, 2, 4):
            due = at(day, rng.choice([9, 10, 14, 16]))
            about_customer(due, due - timedelta(minutes=30))
        task("提交上月销售周报", at(-3, 17), done=True)
        about_customer(at(-1, 11), done=True, title="发送报价单")

        week_start = today - timedelta(days=today.weekday())
        for day in range(5):
            if rng.random() < 0.5:
                continue
            customer = rng.choice(mine)
            start = timezone.make_aware(
                datetime.combine(week_start + timedelta(days=day), time(rng.choice([9, 10, 14, 15]))), tz
            )
            colleagues = [managers[0]] if managers and rng.random() < 0.3 else []
            appointments.append(
                (
                    Appointment(
                        tenant=tenant,
                        title=f"拜访 {customer.name[:30]}",
                        owner=rep,
                        start_at=start,
                        end_at=start + timedelta(hours=rng.choice([1, 2])),
                        place=rng.choice(PLACES),
                        customer=customer,
                        created_by=rep,
                    ),
                    colleagues,
                    contacts.get(customer.pk, [])[:1],
                )
            )
        if index == 0:
            # An overlap the calendar flags: a team meeting on top of a customer visit.
            visit_start = timezone.make_aware(datetime.combine(week_start + timedelta(days=2), time(10)), tz)
            customer = mine[0]
            appointments.append(
                (
                    Appointment(
                        tenant=tenant,
                        title=f"拜访 {customer.name[:30]}",
                        owner=rep,
                        start_at=visit_start,
                        end_at=visit_start + timedelta(hours=2),
                        place=PLACES[0],
                        customer=customer,
                        created_by=rep,
                    ),
                    [],
                    contacts.get(customer.pk, [])[:1],
                )
            )
            owner = managers[0] if managers else rep
            appointments.append(
                (
                    Appointment(
                        tenant=tenant,
                        title="销售周会",
                        owner=owner,
                        start_at=visit_start + timedelta(hours=1),
                        end_at=visit_start + timedelta(hours=2),
                        place=PLACES[1],
                        created_by=owner,
                    ),
                    [r for r in reps if r.team_id == rep.team_id and r.pk != owner.pk],
                    [],
                )
            )

        for customer in rng.sample(mine, k=min(4, len(mine))):
            for _ in range(rng.randint(1, 3)):
                ordered_on = today - timedelta(days=rng.randint(1, 360))
                chosen = rng.sample(PRODUCTS, k=rng.randint(1, 3))
                lines = [
                    OrderLine(
                        tenant=tenant, position=i, name=name, quantity=Decimal(rng.randint(1, 5)), unit_price=price
                    )
                    for i, (name, price) in enumerate(chosen)
                ]
                amount = sum((line.quantity * line.unit_price for line in lines), Decimal("0"))
                orders.append(
                    (
                        Order(
                            tenant=tenant,
                            customer=customer,
                            ordered_on=ordered_on,
                            amount=amount,
                            currency=tenant.currency,
                            created_by=rep,
                            created_at=timezone.make_aware(datetime.combine(ordered_on, time(16)), tz),
                        ),
                        lines,
                    )
                )

    # The customers demo gave many customers a "last follow-up" date: give each one the record it stands for.
    followed_ids = {f.customer_id for f in follow_ups}
    for customers in by_owner.values():
        for customer in customers:
            if customer.last_followed_up_at and customer.pk not in followed_ids:
                kind, text, outcome, next_step = rng.choice(FOLLOW_UP_TEXTS)
                follow_ups.append(
                    FollowUp(
                        tenant=tenant,
                        customer=customer,
                        contact=contacts.get(customer.pk, [None])[0],
                        author_id=customer.owner_id,
                        kind=kind,
                        content=text,
                        outcome=outcome,
                        next_step=next_step,
                        happened_at=customer.last_followed_up_at,
                        created_at=customer.last_followed_up_at,
                        created_by_id=customer.owner_id,
                    )
                )
    FollowUp.objects.bulk_create(follow_ups, batch_size=500)
    Task.objects.bulk_create(tasks, batch_size=500)
    Appointment.objects.bulk_create([a for a, _, _ in appointments], batch_size=500)
    AppointmentAttendee.objects.bulk_create(
        [
            AppointmentAttendee(tenant=tenant, appointment=a, user=u)
            for a, users, _ in appointments
            for u in users
            if u.pk != a.owner_id
        ],
        batch_size=500,
    )
    AppointmentContact.objects.bulk_create(
        [AppointmentContact(tenant=tenant, appointment=a, contact=c) for a, _, cs in appointments for c in cs],
        batch_size=500,
    )
    Order.objects.bulk_create([o for o, _ in orders], batch_size=500)
    all_lines = []
    for order, lines in orders:
        for line in lines:
            line.order = order
            all_lines.append(line)
    OrderLine.objects.bulk_create(all_lines, batch_size=1000)

    # The customers' two pool facts move only through the customers app's services (DESIGN.md §4).
    latest_follow_up: dict[int, datetime] = {}
    for follow_up in follow_ups:
        latest_follow_up[follow_up.customer_id] = max(
            follow_up.happened_at, latest_follow_up.get(follow_up.customer_id, follow_up.happened_at)
        )
    for customer_id, happened in latest_follow_up.items():
        record_follow_up(customer_id=customer_id, at=happened, tenant_id=tenant.pk)
    latest_deal: dict[int, datetime] = {}
    for order, _lines in orders:
        deal = timezone.make_aware(datetime.combine(order.ordered_on, time(12)), tz)
        latest_deal[order.customer_id] = max(deal, latest_deal.get(order.customer_id, deal))
    for customer_id, deal in latest_deal.items():
        record_deal(customer_id=customer_id, at=deal, tenant_id=tenant.pk)
