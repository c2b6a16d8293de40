"""The approvals engine: steps by role and amount, one decision per step, history, audit, notifications, the
owning app's callback, withdrawal, resubmission, and refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from crm.approvals.models import ApprovalRequest, ApprovalStep
from crm.approvals.services import approval_decide, approval_submit, approval_withdraw
from crm.errors import DomainError
from crm.models import AuditEvent, Notification

from .conftest import KIND


def submit(world, amount, user=None):
    return approval_submit(
        acting_user=user or world.rep1,
        kind=KIND,
        obj=world.team1,
        title="Budget for the trade fair",
        summary="Booth and travel",
        amount=Decimal(amount),
        currency="CNY",
    )


@pytest.mark.django_db
def test_steps_follow_the_amount(world_a, outcomes):
    with pytest.raises(DomainError, match="No approval is needed"):
        submit(world_a, "800")
    one = submit(world_a, "2000")
    assert list(one.steps.values_list("order", "approver", "status")) == [(1, "manager", "pending")]
    approval_withdraw(acting_user=world_a.rep1, request_id=one.pk)
    two = submit(world_a, "8000")
    assert list(two.steps.values_list("order", "approver", "status")) == [
        (1, "manager", "pending"),
        (2, "admin", "waiting"),
    ]
    assert two.url == f"/settings/teams/{world_a.team1.pk}/"


@pytest.mark.django_db
def test_two_steps_approved_in_order_with_history_audit_and_callback(world_a, outcomes):
    request = submit(world_a, "8000")
    assert Notification.objects.filter(recipient=world_a.manager, key=f"approval:{request.pk}:step:1").exists()
    assert not Notification.objects.filter(recipient=world_a.admin).exists()

    approval_decide(acting_user=world_a.manager, request_id=request.pk, step=1, approve=True, comment="OK")
    request.refresh_from_db()
    assert (request.status, request.current_step) == ("pending", 2)
    assert outcomes == []
    assert Notification.objects.filter(recipient=world_a.admin, key=f"approval:{request.pk}:step:2").exists()
    with pytest.raises(PermissionDenied):
        approval_decide(acting_user=world_a.manager, request_id=request.pk, step=2, approve=True)

    approval_decide(acting_user=world_a.admin, request_id=request.pk, step=2, approve=True)
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", world_a.admin)
    assert outcomes == [(request.pk, "approved", world_a.team1.pk)]
    steps = list(request.steps.order_by("order").values_list("status", "decided_by", "comment"))
    assert steps == [("approved", world_a.manager.pk, "OK"), ("approved", world_a.admin.pk, "")]
    actions = list(AuditEvent.objects.filter(object_id=str(request.pk)).order_by("id").values_list("action", flat=True))
    assert actions == ["approval.submit", "approval.approve", "approval.approve"]
    assert Notification.objects.filter(recipient=world_a.rep1, key=f"approval-decided:{request.pk}").exists()


@pytest.mark.django_db
def test_a_rejection_ends_the_request_and_it_can_be_resubmitted(world_a, outcomes):
    request = submit(world_a, "8000")
    approval_decide(acting_user=world_a.manager, request_id=request.pk, step=1, approve=False, comment="Too much")
    request.refresh_from_db()
    assert request.status == "rejected"
    assert list(request.steps.order_by("order").values_list("status", flat=True)) == ["rejected", "cancelled"]
    assert outcomes == [(request.pk, "rejected", world_a.team1.pk)]
    with pytest.raises(DomainError, match="already rejected"):
        approval_decide(acting_user=world_a.admin, request_id=request.pk, step=1, approve=True)
    again = submit(world_a, "3000")
    assert again.pk != request.pk and again.status == "pending"
    assert ApprovalRequest.objects.filter(tenant=world_a.tenant, object_id=world_a.team1.pk).count() == 2


@pytest.mark.django_db
def test_one_pending_request_per_object(world_a, outcomes):
    submit(world_a, "2000")
    with pytest.raises(DomainError, match="already waiting for approval"):
        submit(world_a, "3000", user=world_a.rep2)
    assert ApprovalRequest.objects.count() == 1


@pytest.mark.django_db
def test_who_may_decide(world_a, world_b, outcomes):
    request = submit(world_a, "2000")
    for outsider in (world_a.rep1, world_a.rep2, world_a.agent):
        with pytest.raises(PermissionDenied):
            approval_decide(acting_user=outsider, request_id=request.pk, step=1, approve=True)
    with pytest.raises(ApprovalRequest.DoesNotExist):
        approval_decide(acting_user=world_b.admin, request_id=request.pk, step=1, approve=True)
    # An administrator may decide a manager's step.
    approval_decide(acting_user=world_a.admin, request_id=request.pk, step=1, approve=True)
    assert ApprovalRequest.objects.get(pk=request.pk).status == "approved"


@pytest.mark.django_db
def test_a_manager_cannot_approve_their_own_request(world_a, outcomes):
    request = approval_submit(
        acting_user=world_a.manager, kind=KIND, obj=world_a.sales, title="Mine", amount=Decimal(2000)
    )
    with pytest.raises(PermissionDenied):
        approval_decide(acting_user=world_a.manager, request_id=request.pk, step=1, approve=True)
    # Nobody manages the team above theirs, so the administrators are told.
    assert Notification.objects.filter(recipient=world_a.admin, key=f"approval:{request.pk}:step:1").exists()


@pytest.mark.django_db
def test_a_step_nobody_may_decide_is_refused_up_front(world_a, outcomes):
    with pytest.raises(DomainError, match="No one can decide"):
        approval_submit(acting_user=world_a.admin, kind=KIND, obj=world_a.team1, title="Alone", amount=Decimal(9000))
    assert not ApprovalRequest.objects.exists()


@pytest.mark.django_db
def test_a_step_decided_meanwhile_is_not_taken_for_the_next(world_a, outcomes):
    request = submit(world_a, "8000")
    approval_decide(acting_user=world_a.manager, request_id=request.pk, step=1, approve=True)
    with pytest.raises(DomainError, match="already decided this step"):
        approval_decide(acting_user=world_a.admin, request_id=request.pk, step=1, approve=True)
    assert ApprovalRequest.objects.get(pk=request.pk).current_step == 2


@pytest.mark.django_db
def test_withdrawal(world_a, outcomes):
    request = submit(world_a, "8000")
    with pytest.raises(PermissionDenied):
        approval_withdraw(acting_user=world_a.manager, request_id=request.pk)
    approval_withdraw(acting_user=world_a.rep1, request_id=request.pk)
    request.refresh_from_db()
    assert request.status == "withdrawn"
    assert set(request.steps.values_list("status", flat=True)) == {"cancelled"}
    assert outcomes == [(request.pk, "withdrawn", world_a.team1.pk)]
    with pytest.raises(DomainError, match="withdrew"):
        approval_decide(acting_user=world_a.manager, request_id=request.pk, step=1, approve=True)


@pytest.mark.django_db
def test_the_owning_app_can_refuse_and_nothing_is_saved(world_a, outcomes):
    request = submit(world_a, "2000")
    outcomes.refuse = True
    with pytest.raises(DomainError, match="budget is closed"):
        approval_decide(acting_user=world_a.manager, request_id=request.pk, step=1, approve=True)
    request.refresh_from_db()
    assert request.status == "pending"
    assert ApprovalStep.objects.get(request=request).status == "pending"
    assert not AuditEvent.objects.filter(action="approval.approve").exists()


@pytest.mark.django_db
def test_selectors_fail_closed(world_a, outcomes):
    submit(world_a, "2000")
    assert not ApprovalRequest.objects.visible_to(AnonymousUser()).exists()
    assert not ApprovalRequest.objects.waiting_for(None).exists()
    assert ApprovalRequest.objects.waiting_for(world_a.manager).count() == 1
    assert ApprovalRequest.objects.waiting_for(world_a.rep1).count() == 0
    assert ApprovalRequest.objects.visible_to(world_a.rep2).count() == 0


@pytest.mark.django_db
def test_a_request_whose_object_is_gone_closes_when_decided(world_a, outcomes):
    request = submit(world_a, "8000")
    ApprovalRequest.objects.filter(pk=request.pk).update(object_id=world_a.team1.pk + 100_000)
    approval_decide(acting_user=world_a.manager, request_id=request.pk, step=1, approve=True)
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("withdrawn", None)
    assert set(request.steps.values_list("status", flat=True)) == {"cancelled"}
    assert outcomes == []
    assert AuditEvent.objects.filter(action="approval.orphaned", object_id=str(request.pk)).exists()
    with pytest.raises(DomainError, match="no longer exists"):
        approval_decide(acting_user=world_a.admin, request_id=request.pk, step=1, approve=True)
