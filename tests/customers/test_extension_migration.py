"""The migration that moves extension requests onto the approvals engine keeps every request's outcome, decider and
time, and pending ones can then be decided through the engine."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_decide
from customers.models import Customer, ExtensionRequest
from customers.services.customer import customer_create

from ..conftest import build_world

BEFORE = [("customers", "0006_delete_importjob")]
AFTER = [("customers", "0007_extension_requests_on_approvals")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_extension_requests_get_their_approvals():
    world = build_world("M")
    pending_customer = customer_create(acting_user=world.rep1, data={"name": "待批客户"})
    decided_customer = customer_create(acting_user=world.rep1, data={"name": "已批客户"})
    pending = ExtensionRequest.objects.create(
        tenant=world.tenant,
        customer=pending_customer,
        requested_by=world.rep1,
        owned_since=pending_customer.owned_since,
        reason="下周签约",
    )
    declined = ExtensionRequest.objects.create(
        tenant=world.tenant,
        customer=decided_customer,
        requested_by=world.rep1,
        owned_since=decided_customer.owned_since,
        reason="再等等",
    )
    decided_at = timezone.now() - dt.timedelta(days=2)
    try:
        old = migrate(BEFORE)
        old.get_model("customers", "ExtensionRequest").objects.filter(pk=declined.pk).update(
            status="declined", decided_by_id=world.manager.pk, decided_at=decided_at
        )
        migrate(AFTER)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    kept = ApprovalRequest.objects.get(kind="pool.extension", object_id=declined.pk)
    assert (kept.status, kept.decided_by_id, kept.decided_at) == ("rejected", world.manager.pk, decided_at)
    assert list(kept.steps.values_list("status", "decided_by", "label")) == [
        ("rejected", world.manager.pk, "The rep's manager")
    ]
    waiting = ApprovalRequest.objects.get(kind="pool.extension", object_id=pending.pk)
    assert (waiting.status, waiting.title, waiting.summary, waiting.requested_by_id) == (
        "pending",
        "待批客户",
        "下周签约",
        world.rep1.pk,
    )
    approval_decide(acting_user=world.manager, request_id=waiting.pk, step=1, approve=True)
    assert ExtensionRequest.objects.get(pk=pending.pk).status == "approved"
    assert Customer.objects.get(pk=pending_customer.pk).extension_days > 0
