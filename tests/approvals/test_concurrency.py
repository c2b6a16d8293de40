"""Two deciders at once decide a step once; two submissions at once create one request."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from crm.approvals.models import ApprovalRequest, ApprovalStep
from crm.approvals.services import approval_decide, approval_submit
from crm.errors import DomainError
from crm.models import AuditEvent

from ..conftest import build_world
from .conftest import KIND

ROUNDS = 8


def race(*calls):
    """Run the calls at the same moment in threads with their own connections; return each outcome."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = ("ok", call())
        except (DomainError, PermissionDenied) as exc:
            results[i] = ("refused", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_deciders_at_once_decide_once(outcomes):
    world = build_world("R")
    for round_ in range(ROUNDS):
        request = approval_submit(
            acting_user=world.rep1, kind=KIND, obj=world.team1, title=f"Round {round_}", amount=Decimal(2000)
        )
        approve_first = round_ % 2 == 0
        results = race(
            lambda: approval_decide(
                acting_user=world.manager, request_id=request.pk, step=1, approve=approve_first, comment="manager"
            ),
            lambda: approval_decide(
                acting_user=world.admin, request_id=request.pk, step=1, approve=not approve_first, comment="admin"
            ),
        )
        assert sorted(r[0] for r in results) == ["ok", "refused"], results
        refused = next(r[1] for r in results if r[0] == "refused")
        assert "already" in str(refused)
        step = ApprovalStep.objects.get(request=request)
        request.refresh_from_db()
        assert step.decided_by_id == request.decided_by_id
        assert request.status == ("approved" if step.status == "approved" else "rejected")
        decisions = AuditEvent.objects.filter(
            object_id=str(request.pk), action__in=["approval.approve", "approval.reject"]
        )
        assert decisions.count() == 1
    assert len(outcomes) == ROUNDS
    assert len({pk for pk, _status, _obj in outcomes}) == ROUNDS


@pytest.mark.django_db(transaction=True)
def test_two_submissions_at_once_create_one_request(outcomes):
    world = build_world("S")
    for round_ in range(ROUNDS):
        team = world.team1 if round_ % 2 == 0 else world.team2
        ApprovalRequest.objects.filter(object_id=team.pk, status="pending").update(status="withdrawn")
        results = race(
            *[
                (
                    lambda user=user: approval_submit(
                        acting_user=user, kind=KIND, obj=team, title="Race", amount=Decimal(2000)
                    )
                )
                for user in (world.rep1, world.rep2)
            ]
        )
        assert sorted(r[0] for r in results) == ["ok", "refused"], results
        assert ApprovalRequest.objects.filter(object_id=team.pk, status="pending").count() == 1
