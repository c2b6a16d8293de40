"""Demo data of the service desk, for tenants with a service team and an agent: categories, SLA policies per
priority, a dispatch rule, canned replies, a second agent, and tickets in every state across the last days with
their conversations, so agent@demo.local finds timers on track, at risk, breached and paused, and files on some notes. Idempotent."""

from __future__ import annotations

import random

from django.core.files.base import ContentFile
from django.utils import timezone

from crm.demo import DEMO_PASSWORD
from crm.models import Role, User
from crm.workcalendar.selectors import add_business_minutes
from customers.models import Contact, Customer
from service import demo_survey
from service.demo_kb import seed_articles
from service.models import CannedReply, DispatchRule, ServiceSettings, SlaPolicy, Status, Ticket, TicketCategory
from service.services.ticket import ticket_create, ticket_customer_message, ticket_reply, ticket_set_status

CATEGORIES = ["账单与发票", "产品故障", "安装与培训", "投诉与建议", "账号与权限"]
POLICIES = [("low", 480, 2880), ("normal", 120, 960), ("high", 60, 480), ("urgent", 30, 240)]
CANNED = [
    ("已收到", "您好，我们已收到您的问题，工程师正在处理，稍后给您回复。"),
    ("请提供截图", "您好，为了更快定位问题，请您提供出错页面的截图和操作时间，谢谢！"),
    ("已解决确认", "您好，问题已处理完毕，请您确认是否恢复正常。如仍有问题请直接回复此邮件。"),
]
# (subject, description, category index, priority, channel, business minutes ago, outcome): counted on the working
# calendar, so the timers show on track, at risk and breached whatever day the demo is seeded.
TICKETS = [
    ("发票抬头开错了", "上月的增值税专用发票抬头写成了旧公司名，需要重开。", 0, "normal", "email", 30, "new"),
    ("系统登录一直提示密码错误", "今天早上开始所有人都登录不了。", 4, "urgent", "phone", 26, "new"),
    ("报表导出乱码", "导出的 CSV 用 Excel 打开中文全是乱码。", 1, "normal", "wechat", 900, "open"),
    ("想预约新员工培训", "下周有 5 位新同事入职，希望安排一次线上培训。", 2, "low", "email", 200, "open"),
    ("客户数据同步失败", "ERP 同步任务从昨晚开始报错。", 1, "high", "phone", 600, "open"),
    ("对上次上门服务不满意", "工程师迟到两个小时，也没有提前通知。", 3, "high", "walk_in", 420, "open"),
    ("需要增加两个子账号", "销售部新增两人，需要开通账号。", 4, "normal", "web", 300, "pending"),
    ("打印模板不对齐", "订单打印时金额一栏错位。", 1, "normal", "email", 1500, "pending"),
    ("发票寄送地址变更", "以后发票请寄到新办公室地址。", 0, "low", "email", 2400, "resolved"),
    ("手机端无法上传附件", "安卓手机上传图片时一直转圈。", 1, "high", "wechat", 1800, "resolved"),
    ("合同到期续费咨询", "想了解续费优惠。", 0, "normal", "phone", 4000, "closed"),
    ("建议增加批量导入功能", "希望联系人可以批量导入。", 3, "low", "web", 5000, "closed"),
    ("数据看板加载很慢", "打开首页要十几秒。", 1, "normal", "email", 1200, "open"),
    ("权限设置咨询", "如何让经理只看本组客户？", 4, "low", "phone", 90, "open"),
]

# Files the agent attached to the note of some tickets (a log, an export sample).
DEMO_FILES = {
    "报表导出乱码": ("导出样例.csv", "客户名称,金额\n云帆科技,12800\n".encode("gb18030")),
    "客户数据同步失败": ("sync-error.log", b"2026-03-09 02:00:13 ERROR ERP sync: connection reset by peer\n"),
}

# A file an agent's public reply carries (emailed to the customer with the reply).
DEMO_REPLY_FILES = {
    "报表导出乱码": ("导出设置说明.txt", "导出时请在“文件编码”中选择 UTF-8，再用 Excel 打开。\n".encode()),
}


def _agents(demo) -> list[User]:
    agent = demo.users.get("agent")
    team = demo.teams.get("service")
    if agent is None or team is None:
        return []
    second = User.objects.filter(email__iexact="agent2@demo.local").first()
    if second is None:
        second = User.objects.create_user(
            email="agent2@demo.local",
            password=DEMO_PASSWORD,
            tenant=demo.tenant,
            full_name="周敏",
            roles=[Role.AGENT],
            team=team,
        )
    return [agent, second]


def seed_tenant(demo) -> None:
    seed_desk(demo)
    demo_survey.seed_tenant(demo)


def seed_desk(demo) -> None:
    agents = _agents(demo)
    seed_articles(demo, agents)
    tenant = demo.tenant
    if not agents or Ticket.objects.filter(tenant=tenant).exists():
        return
    team = demo.teams["service"]
    rng = random.Random(20261129)
    categories = [TicketCategory.objects.get_or_create(tenant=tenant, name=name)[0] for name in CATEGORIES]
    for priority, first, resolution in POLICIES:
        SlaPolicy.objects.get_or_create(
            tenant=tenant,
            priority=priority,
            level=None,
            defaults={"first_response_minutes": first, "resolution_minutes": resolution},
        )
    ServiceSettings.objects.update_or_create(
        tenant=tenant, defaults={"default_team": team, "max_open_per_agent": 30, "reopen_days": 7}
    )
    DispatchRule.objects.get_or_create(
        tenant=tenant,
        name="客服部轮流接单",
        defaults={"order": 10, "team": team, "method": DispatchRule.Method.ROUND_ROBIN},
    )
    DispatchRule.objects.get_or_create(
        tenant=tenant,
        name="投诉给负载最少的客服",
        defaults={
            "order": 5,
            "team": team,
            "category": categories[3],
            "method": DispatchRule.Method.LEAST_LOADED,
        },
    )
    for title, body in CANNED:
        CannedReply.objects.get_or_create(tenant=tenant, title=title, defaults={"body": body})

    customers = list(Customer.objects.filter(tenant=tenant, deleted_at__isnull=True).order_by("pk")[:40])
    if not customers:
        return
    contacts = {}
    for contact in Contact.objects.filter(tenant=tenant, customer__in=customers).order_by("-is_primary", "pk"):
        contacts.setdefault(contact.customer_id, contact)
    now = timezone.now()
    agent = agents[0]
    for subject, description, category, priority, channel, minutes, outcome in TICKETS:
        customer = rng.choice(customers)
        created = add_business_minutes(tenant, now, -minutes)
        ticket = ticket_create(
            tenant=tenant,
            acting_user=agent if channel in ("phone", "walk_in", "wechat") else None,
            customer=customer,
            contact=contacts.get(customer.pk),
            subject=subject,
            description=description,
            category=categories[category],
            priority=priority,
            channel=channel,
            now=created,
        )
        if outcome == "new":
            continue
        worker = ticket.assignee if ticket.assignee and ticket.assignee.has_any_role(Role.AGENT) else agent
        if ticket.assignee_id is None:
            ticket.assignee = worker
            ticket.save(update_fields=["assignee"])
        step = add_business_minutes(tenant, created, min(rng.randint(10, 25), minutes // 2))
        ticket_reply(
            acting_user=worker,
            ticket=ticket,
            body=CANNED[0][1],
            public=True,
            now=step,
            files=[ContentFile(DEMO_REPLY_FILES[subject][1], name=DEMO_REPLY_FILES[subject][0])]
            if subject in DEMO_REPLY_FILES
            else (),
        )
        ticket_reply(
            acting_user=worker,
            ticket=ticket,
            body="已联系技术部确认原因。",
            public=False,
            now=step,
            files=[ContentFile(DEMO_FILES[subject][1], name=DEMO_FILES[subject][0])] if subject in DEMO_FILES else (),
        )
        if outcome == "pending":
            ticket_reply(
                acting_user=worker, ticket=ticket, body=CANNED[1][1], public=True, status=Status.PENDING, now=step
            )
        elif outcome in ("resolved", "closed"):
            ticket_customer_message(
                ticket=ticket, body="截图已经发给你们了。", now=add_business_minutes(tenant, step, minutes // 4)
            )
            ticket_reply(
                acting_user=worker,
                ticket=ticket,
                body=CANNED[2][1],
                public=True,
                status=Status.RESOLVED,
                now=add_business_minutes(tenant, step, minutes // 3),
            )
            if outcome == "closed":
                ticket_set_status(
                    acting_user=worker,
                    ticket=ticket,
                    status=Status.CLOSED,
                    now=add_business_minutes(tenant, step, minutes // 2),
                )
