"""Demo satisfaction surveys: resolved tickets of the last three months with their customers' answers (some low,
with the comments that go with them), and one NPS round sent and partly answered. Idempotent."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from customers.models import Contact, Customer
from service.models import NpsResponse, NpsRound, SatisfactionSurvey, Status, TicketCategory
from service.services.nps import nps_answer, nps_round_create, nps_send_pending
from service.services.survey import survey_answer
from service.services.ticket import ticket_create, ticket_reply

# (subject, rating, comment): answered by the ticket's contact a few hours after it was resolved.
ANSWERED = [
    ("开票信息修改", 5, "处理很快，态度也很好！"),
    ("无法导出月度报表", 4, ""),
    ("新员工账号开通", 5, "当天就开好了，谢谢。"),
    ("订单状态不同步", 2, "等了三天才有人回复，希望能快一点。"),
    ("培训时间调整", 5, ""),
    ("客户列表加载慢", 3, "问题解决了，但是过程比较长。"),
    ("短信验证码收不到", 1, "反复说了好几次问题，每次都要重新解释，很失望。"),
    ("发票重复开具", 4, "工程师很专业。"),
    ("权限分配咨询", 5, ""),
    ("合同模板错位", 4, ""),
    ("数据导入失败", 2, "导入还是有部分数据丢失。"),
    ("回款提醒设置", 5, "讲解得很清楚。"),
    ("移动端闪退", 4, ""),
    ("报价单打印问题", 5, "非常满意！"),
]
NPS_SCORES = [10, 9, 9, 8, 7, 10, 6, 3, 9, 10, 8, 5]
NPS_COMMENTS = {10: "产品好用，服务及时。", 3: "价格偏高，功能用不全。", 6: "还可以，希望多一些培训。"}


def seed_tenant(demo) -> None:
    agents = [u for u in (demo.users.get("agent"),) if u is not None]
    admin = demo.users.get("admin")
    tenant = demo.tenant
    if not agents or admin is None:
        return
    rng = random.Random(20261130)
    if not SatisfactionSurvey.objects.filter(tenant=tenant, answered_at__isnull=False).exists():
        _answered_tickets(demo, agents, rng)
    if not NpsRound.objects.filter(tenant=tenant).exists():
        _nps_round(demo, admin, rng)


def _answered_tickets(demo, agents, rng) -> None:
    tenant = demo.tenant
    second = type(agents[0]).objects.filter(email__iexact="agent2@demo.local").first()
    if second is not None:
        agents = [*agents, second]
    customers = list(Customer.objects.filter(tenant=tenant, deleted_at__isnull=True).order_by("pk")[:40])
    contacts = {}
    for contact in Contact.objects.filter(tenant=tenant, customer__in=customers).exclude(email="").order_by("pk"):
        contacts.setdefault(contact.customer_id, contact)
    customers = [c for c in customers if c.pk in contacts]
    categories = list(TicketCategory.objects.filter(tenant=tenant).order_by("pk"))
    if not customers:
        return
    now = timezone.now()
    for index, (subject, rating, comment) in enumerate(ANSWERED):
        customer = rng.choice(customers)
        opened = now - dt.timedelta(days=85 - index * 6, hours=rng.randint(1, 6))
        worker = agents[index % len(agents)]
        ticket = ticket_create(
            tenant=tenant,
            acting_user=worker,
            customer=customer,
            contact=contacts[customer.pk],
            subject=subject,
            description=subject,
            category=categories[index % len(categories)] if categories else None,
            channel="phone",
            assignee=worker,
            now=opened,
        )
        resolved = opened + dt.timedelta(hours=rng.randint(2, 30))
        ticket_reply(
            acting_user=worker,
            ticket=ticket,
            body="您好，问题已处理完毕，请您确认是否恢复正常。",
            public=True,
            status=Status.RESOLVED,
            now=resolved,
        )
        survey = SatisfactionSurvey.objects.filter(tenant=tenant, ticket=ticket).first()
        if survey is not None:
            survey_answer(
                tenant_id=tenant.pk,
                survey_id=survey.pk,
                rating=rating,
                comment=comment,
                now=resolved + dt.timedelta(hours=rng.randint(1, 20)),
            )


def _nps_round(demo, admin, rng) -> None:
    # The audience: contacts with marketing consent. The care demo (seeded after this app) gives consent to some;
    # here a dozen primary contacts with an email agreed at a customer visit.
    tenant = demo.tenant
    agreed = list(
        Contact.objects.filter(tenant=tenant, is_primary=True, unsubscribed_at__isnull=True, erased_at__isnull=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("pk", flat=True)[:12]
    )
    Contact.objects.filter(tenant=tenant, pk__in=agreed, marketing_consent=False).update(
        marketing_consent=True, consent_at=timezone.now(), consent_source="客户回访时同意"
    )
    nps_round, invited = nps_round_create(acting_user=admin, name="2026 年度客户推荐度调查", days=30)
    if not invited:
        return
    nps_send_pending(tenant_id=demo.tenant.pk, limit=invited)
    responses = NpsResponse.objects.filter(tenant=demo.tenant, round=nps_round).order_by("pk")
    for response, score in zip(responses, NPS_SCORES, strict=False):
        nps_answer(
            tenant_id=demo.tenant.pk,
            response_id=response.pk,
            score=score,
            comment=NPS_COMMENTS.get(score, ""),
        )
