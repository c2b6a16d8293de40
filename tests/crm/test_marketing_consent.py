"""Consent is checked once, in the messaging layer: a marketing message (it names its contact) is refused when the
contact has no consent, unsubscribed or was erased — when queued, and again when delivered —, whoever queued it;
transactional messages are never checked."""

import pytest
from django.core import mail
from django.utils import timezone

from crm import tasks
from crm.models import OutboundMessage, OutboxTask
from crm.services.notification import consent_refusals, message_deliver, message_queue, messages_queue_bulk
from customers.models import Contact
from tests.marketing.helpers import make_contact


def queue(world, contact, key, *, marketing=True):
    message = message_queue(
        tenant_id=world.tenant.pk,
        to_address=contact.email,
        subject="新品上市",
        body="……",
        key=key,
        consent_contact=contact.pk if marketing else None,
    )
    return message, deliveries()


def deliveries() -> list[list]:
    """The delivery tasks queued through the outbox (their arguments)."""
    names = (tasks.deliver_message.name, tasks.deliver_messages.name)
    return [row.args for row in OutboxTask.objects.filter(task__in=names).order_by("pk")]


@pytest.mark.django_db
def test_a_marketing_message_to_a_contact_without_consent_is_refused_and_never_sent(world_a):
    contact = make_contact(world_a.rep1, "没同意", consent=False)
    message, enqueued = queue(world_a, contact, "m:1")
    assert message.status == OutboundMessage.Status.REFUSED and message.last_error == "no marketing consent"
    assert enqueued == []
    assert message_deliver(message_id=message.pk) is None and not mail.outbox


@pytest.mark.django_db
def test_a_contact_who_unsubscribes_after_queueing_is_refused_at_delivery(world_a):
    contact = make_contact(world_a.rep1, "后来退订")
    message, enqueued = queue(world_a, contact, "m:2")
    assert message.status == OutboundMessage.Status.QUEUED and enqueued == [[world_a.tenant.pk, message.pk]]
    Contact.objects.filter(pk=contact.pk).update(unsubscribed_at=timezone.now())
    delivered = message_deliver(message_id=message.pk)
    assert delivered.status == OutboundMessage.Status.REFUSED and delivered.last_error == "unsubscribed"
    assert not mail.outbox


@pytest.mark.django_db
def test_transactional_messages_are_not_checked(world_a):
    contact = make_contact(world_a.rep1, "退订了但有工单", unsubscribed_at=timezone.now())
    message, _sent = queue(world_a, contact, "ticket-reply:1", marketing=False)
    delivered = message_deliver(message_id=message.pk)
    assert delivered.status == OutboundMessage.Status.SENT and [m.to for m in mail.outbox] == [[contact.email]]


@pytest.mark.django_db
def test_bulk_queueing_refuses_per_contact_and_delivers_only_the_others(world_a, world_b):
    ok = make_contact(world_a.rep1, "同意的")
    no = make_contact(world_a.rep1, "不同意的", consent=False)
    foreign = make_contact(world_b.rep1, "别家的")
    messages = [
        OutboundMessage(to_address=c.email, subject="s", body="b", key=f"bulk:{c.pk}", consent_contact=c.pk)
        for c in (ok, no, foreign)
    ]
    messages_queue_bulk(tenant_id=world_a.tenant.pk, messages=messages)
    status = dict(OutboundMessage.objects.filter(tenant=world_a.tenant).values_list("consent_contact", "status"))
    assert status == {ok.pk: "queued", no.pk: "refused", foreign.pk: "refused"}
    queued_id = OutboundMessage.objects.get(consent_contact=ok.pk).pk
    assert deliveries() == [[world_a.tenant.pk, [queued_id]]]


@pytest.mark.django_db
def test_refusals_answer_in_one_query(world_a, django_assert_num_queries):
    contacts = [make_contact(world_a.rep1, f"联系人{i}", consent=i % 2 == 0) for i in range(6)]
    with django_assert_num_queries(1):
        refused = consent_refusals(world_a.tenant.pk, [c.pk for c in contacts])
    assert set(refused) == {c.pk for c in contacts[1::2]}
