"""A test policy on teams (any tenant object would do): a manager step above 1,000 and an admin step above 5,000;
its callback records each outcome it is told."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.errors import DomainError
from crm.models import Role
from crm.registry import ApprovalPolicy, ApprovalStepRule, registry

KIND = "test.budget"


class Outcomes(list):
    refuse: bool = False


@pytest.fixture
def outcomes():
    told = Outcomes()

    def on_decided(request, obj):
        if told.refuse:
            raise DomainError("The budget is closed.")
        told.append((request.pk, request.status, obj.pk))

    policy = ApprovalPolicy(
        key=KIND,
        label="Budget",
        model="crm.team",
        steps=lambda tenant, obj: [
            ApprovalStepRule(approver=Role.MANAGER, label="Manager above 1,000", above=Decimal("1000")),
            ApprovalStepRule(approver=Role.ADMIN, label="Administrator above 5,000", above=Decimal("5000")),
        ],
        on_decided=on_decided,
        url=lambda obj: f"/settings/teams/{obj.pk}/",
    )
    registry.add_approval_policy(policy)
    yield told
    registry._items["approval_policy"].pop(KIND, None)
