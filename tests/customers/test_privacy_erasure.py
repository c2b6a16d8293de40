"""Erasing a person's data on their request reaches every place it was written down, in one transaction: the
contact, a person-type customer, the leads converted into them, follow-up text, outgoing messages, notifications and
the audit trail. The business records stay."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from crm.models import AuditEvent, Notification, OutboundMessage
from crm.registry import PersonalDataHolder, registry
from crm.services.audit import audit
from customers.models import Contact, Customer
from customers.services.customer import customer_create
from customers.services.privacy import contact_erase
from sales.models import FollowUp, Lead, Opportunity
from sales.services.followup import followup_log
from sales.services.opportunity import opportunity_create
from sales.services.pipeline import ensure_default_pipeline
from service.models import Ticket, TicketMessage
from service.services.ticket import ticket_create

NAME, MOBILE, EMAIL, WECHAT = "欧阳娜娜", "13812345678", "ouyang.nana@example.test", "wx_ouyang_nana"
TRACES = (NAME, MOBILE, "138 1234 5678", "1234 5678", EMAIL, WECHAT)


def tenant_text(tenant) -> str:
    """Every text of the tenant's rows in every place the person could be written down."""
    parts = []
    for row in AuditEvent.objects.filter(tenant=tenant):
        parts += [row.object_repr, str(row.details)]
    for row in OutboundMessage.objects.filter(tenant=tenant):
        parts += [row.to_address, row.subject, row.body, str(row.headers)]
    for row in Notification.objects.filter(tenant=tenant):
        parts += [row.title, row.body]
    for row in FollowUp.objects.filter(tenant=tenant):
        parts += [row.content, row.next_step]
    for row in Lead.objects.filter(tenant=tenant):
        parts += [row.name, row.phone, row.email, row.wechat, row.message, row.company, row.title]
    for row in Opportunity.objects.filter(tenant=tenant):
        parts += [row.name, row.notes]
    for row in Customer.objects.filter(tenant=tenant):
        parts += [row.name, row.name_pinyin, row.name_initials, row.notes, row.address]
    for row in Ticket.objects.filter(tenant=tenant):
        parts += [row.subject, row.description]
    for row in TicketMessage.objects.filter(tenant=tenant):
        parts += [row.body]
    for row in Contact.objects.filter(tenant=tenant):
        parts += [row.name, row.mobile, row.phone, row.email, row.wechat, row.notes]
    return "\n".join(parts)


@pytest.fixture
def planted(world_a):
    """The person in every place: a person-type customer and its contact, the lead converted into them, follow-ups,
    an opportunity, messages to them and about them, a notification and audit rows."""
    world_a.tenant.language = "en"
    world_a.tenant.save()
    rep = world_a.rep1
    person = customer_create(
        acting_user=rep,
        data={"kind": "person", "name": NAME, "address": "上海市某路1号", "notes": f"{NAME}喜欢下午联系"},
        contact={"name": NAME, "mobile": MOBILE, "email": EMAIL, "wechat": WECHAT, "notes": "VIP"},
    )
    contact = person.contacts.get()
    company = customer_create(
        acting_user=rep, data={"name": "杭州云帆科技有限公司"}, contact={"name": "张伟", "mobile": "13900001111"}
    )
    lead = Lead.objects.create(
        tenant=world_a.tenant,
        name=NAME,
        phone="+86" + MOBILE,
        email=EMAIL,
        wechat=WECHAT,
        message=f"我是{NAME}，电话 {MOBILE}",
        owner=rep,
        status="converted",
        customer=person,
        contact=contact,
        converted_at=timezone.now(),
        converted_by=rep,
    )
    audit(
        tenant=world_a.tenant,
        actor=rep,
        action="lead.create",
        obj=lead,
        details={"name": NAME, "phone": "+86" + MOBILE, "email": EMAIL},
    )
    followup_log(
        acting_user=rep,
        kind="call",
        content=f"{NAME}说手机 138 1234 5678 随时可以打，微信 {WECHAT}",
        next_step=f"给{NAME}发报价",
        customer=person,
        contact=contact,
    )
    followup_log(
        acting_user=rep,
        kind="note",
        content=f"张伟介绍了他的朋友，电话 +86 138-1234-5678，邮箱 {EMAIL}",
        customer=company,
    )
    opportunity_create(
        acting_user=rep,
        customer=person,
        name=f"{NAME}的装修",
        pipeline=ensure_default_pipeline(world_a.tenant),
        notes=f"{NAME}预算二十万",
    )
    for channel, to in (("sms", "+86" + MOBILE), ("email", EMAIL)):
        OutboundMessage.objects.create(
            tenant=world_a.tenant,
            channel=channel,
            to_address=to,
            subject=f"{NAME}，生日快乐",
            body=f"亲爱的{NAME}，祝您生日快乐",
            key=f"greeting-{channel}",
        )
    OutboundMessage.objects.create(
        tenant=world_a.tenant,
        channel="email",
        recipient=rep,
        to_address=rep.email,
        subject="新线索",
        body=f"新线索：电话 {MOBILE}，邮箱 {EMAIL}",
        key="to-rep",
        status="sent",
    )
    Notification.objects.create(tenant=world_a.tenant, recipient=rep, title="新线索", body=f"邮箱 {EMAIL}")
    ticket_create(
        tenant=world_a.tenant,
        acting_user=world_a.agent,
        customer=person,
        contact=contact,
        subject=f"{NAME}的热水器坏了",
        description=f"{NAME}来电 {MOBILE}，请回电",
    )
    audit(tenant=world_a.tenant, actor=rep, action="contact.update", obj=contact, details={"name": [NAME, NAME]})
    audit(tenant=world_a.tenant, actor=rep, action="export", details={"q": MOBILE, "rows": 1})
    return person, contact, company, lead


@pytest.mark.django_db
def test_erasure_leaves_no_trace_of_the_person_and_keeps_the_records(world_a, planted, client_for):
    person, contact, company, lead = planted
    text = tenant_text(world_a.tenant)
    assert all(trace in text for trace in TRACES)  # every place holds the person before

    response = client_for(world_a.admin).post(
        reverse("customers:contact_erase", args=[person.pk, contact.pk]), {"confirm": "on"}
    )
    assert response.status_code == 302

    text = tenant_text(world_a.tenant)
    for trace in TRACES:
        assert trace not in text, trace
    # The records stay, pseudonymised; what is not the person's is kept.
    person.refresh_from_db()
    assert person.name == "—" and person.address == "" and person.notes == ""
    lead.refresh_from_db()
    assert (lead.name, lead.phone, lead.email, lead.wechat) == ("—", "", "", "")
    assert lead.customer == person and lead.status == "converted"
    assert FollowUp.objects.filter(customer=person).get().content == "—说手机 — 随时可以打，微信 —"
    assert FollowUp.objects.filter(customer=company).get().content == "张伟介绍了他的朋友，电话 —，邮箱 —"
    assert Opportunity.objects.get(customer=person).name == "—的装修"
    ticket = Ticket.objects.get(customer=person)
    assert (ticket.subject, ticket.description) == ("—的热水器坏了", "—来电 —，请回电")
    to_person = OutboundMessage.objects.exclude(key="to-rep")
    assert {(m.to_address, m.body, m.status) for m in to_person} == {("—", "—", "failed")}
    assert OutboundMessage.objects.get(key="to-rep").status == "sent"
    company.refresh_from_db()
    assert company.name == "杭州云帆科技有限公司"
    assert AuditEvent.objects.filter(action="customer.create", object_repr="杭州云帆科技有限公司").exists()
    assert AuditEvent.objects.filter(action="contact.erase", object_id=str(contact.pk)).count() == 1


@pytest.mark.django_db
def test_erasing_a_company_contact_keeps_the_company_name(world_a, client_for):
    customer = customer_create(
        acting_user=world_a.rep1,
        data={"name": "欧阳贸易有限公司"},
        contact={"name": NAME, "mobile": MOBILE},
    )
    contact_erase(acting_user=world_a.admin, contact=customer.contacts.get())
    customer.refresh_from_db()
    assert customer.name == "欧阳贸易有限公司"
    assert MOBILE not in tenant_text(world_a.tenant)


@pytest.mark.django_db
def test_an_erasure_that_fails_anywhere_erases_nothing(world_a, planted):
    person, contact, _company, _lead = planted

    def refuse(**kwargs):
        raise DatabaseError("refused")

    registry.add_personal_data_holder(PersonalDataHolder(key="zz-refuses", erase=refuse, order=999))
    try:
        with pytest.raises(DatabaseError, match="refused"):
            contact_erase(acting_user=world_a.admin, contact=contact)
    finally:
        registry._items["personal_data_holder"].pop("zz-refuses")
    assert all(trace in tenant_text(world_a.tenant) for trace in TRACES)
    assert Contact.objects.get(pk=contact.pk).erased_at is None


@pytest.mark.django_db
def test_the_audit_trail_stays_append_only_outside_an_erasure(world_a, planted):
    event = AuditEvent.objects.filter(tenant=world_a.tenant).first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(object_repr="x")
    # Even inside an erasure, only the description and the details may change, and nothing may be deleted.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.audit_erasure', 'on', true)")
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.audit_erasure', 'on', true)")
        AuditEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.django_db
def test_the_persons_data_download_holds_their_leads_and_follow_ups(world_a, planted, client_for):
    person, contact, _company, lead = planted
    url = reverse("customers:contact_personal_data", args=[person.pk, contact.pk])
    data = client_for(world_a.admin).get(url).json()
    assert [item["id"] for item in data["leads"]] == [lead.pk]
    assert data["leads"][0]["wechat"] == WECHAT
    assert [item["next_step"] for item in data["follow_ups"]] == [f"给{NAME}发报价"]
    assert [item["subject"] for item in data["tickets"]] == [f"{NAME}的热水器坏了"]
    text = client_for(world_a.admin).get(url, {"format": "csv"}).content.decode()
    assert f"leads,id={lead.pk}; name={NAME}" in text and "follow_ups,id=" in text
