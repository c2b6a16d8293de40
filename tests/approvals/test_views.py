"""/approvals/ pages: the boxes, one-click decisions (list, detail, notification), withdrawal, tenant and role
scoping, bounded queries, Chinese."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_submit
from crm.models import Notification

from ..factories import TeamFactory
from .conftest import KIND

LIST = reverse("approvals:list")


@pytest.fixture(autouse=True)
def english(world_a):
    for user in (world_a.admin, world_a.manager, world_a.rep1, world_a.rep2):
        user.language = "en"
        user.save(update_fields=["language"])


def submit(world, amount="2000", user=None, obj=None):
    return approval_submit(
        acting_user=user or world.rep1,
        kind=KIND,
        obj=obj or world.team1,
        title="Budget for the trade fair",
        summary="Booth and travel",
        amount=Decimal(amount),
        currency="CNY",
    )


@pytest.mark.django_db
def test_the_manager_sees_what_waits_and_decides_in_one_click(world_a, client_for, outcomes):
    request = submit(world_a)
    c = client_for(world_a.manager)
    response = c.get(LIST)
    assert response.context["filter"].form["box"].value() == "waiting"
    body = response.content.decode()
    assert "Budget for the trade fair" in body and f'data-testid="approve-{request.pk}"' in body
    response = c.post(
        reverse("approvals:decide", args=[request.pk]),
        {"step": 1, "decision": "approve", "comment": "去吧"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Approved" in response.content.decode()
    assert ApprovalRequest.objects.get(pk=request.pk).status == "approved"
    assert outcomes == [(request.pk, "approved", world_a.team1.pk)]
    assert not c.get(LIST).context["rows"]


@pytest.mark.django_db
def test_the_rep_sees_what_they_asked_and_cannot_decide_it(world_a, client_for, outcomes):
    request = submit(world_a)
    c = client_for(world_a.rep1)
    response = c.get(LIST)
    assert response.context["filter"].form["box"].value() == "asked"
    assert [a.pk for a, _d in response.context["rows"]] == [request.pk]
    assert f'data-testid="approve-{request.pk}"' not in response.content.decode()
    detail = c.get(reverse("approvals:detail", args=[request.pk]))
    assert detail.status_code == 200 and b'data-testid="withdraw"' in detail.content
    assert b"approve-" not in detail.content
    response = c.post(reverse("approvals:decide", args=[request.pk]), {"step": 1, "decision": "approve"})
    assert response.status_code == 403
    # A colleague outside the request's chain does not see it at all.
    assert client_for(world_a.rep2).get(reverse("approvals:detail", args=[request.pk])).status_code == 404
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"


@pytest.mark.django_db
def test_detail_shows_the_history_and_withdrawal_works(world_a, client_for, outcomes):
    request = submit(world_a, "8000")
    client_for(world_a.manager).post(
        reverse("approvals:decide", args=[request.pk]), {"step": 1, "decision": "approve", "comment": "fine by me"}
    )
    c = client_for(world_a.rep1)
    body = c.get(reverse("approvals:detail", args=[request.pk])).content.decode()
    assert "fine by me" in body and world_a.manager.full_name in body
    response = c.post(reverse("approvals:withdraw", args=[request.pk]))
    assert response.status_code == 302
    assert ApprovalRequest.objects.get(pk=request.pk).status == "withdrawn"


@pytest.mark.django_db
def test_a_stale_click_is_told_who_decided(world_a, client_for, outcomes):
    request = submit(world_a)
    client_for(world_a.admin).post(reverse("approvals:decide", args=[request.pk]), {"step": 1, "decision": "reject"})
    response = client_for(world_a.manager).post(
        reverse("approvals:decide", args=[request.pk]), {"step": 1, "decision": "approve"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert f"{world_a.admin.full_name} already rejected this request." in response.content.decode()


@pytest.mark.django_db
def test_decide_from_the_notification(world_a, client_for, outcomes):
    request = submit(world_a)
    c = client_for(world_a.manager)
    body = c.get(reverse("notifications")).content.decode()
    assert f'data-testid="approve-{request.pk}"' in body
    notification = Notification.objects.get(recipient=world_a.manager, key=f"approval:{request.pk}:step:1")
    # Marking it read keeps its buttons.
    row = c.post(reverse("notification_read", args=[notification.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert f'data-testid="approve-{request.pk}"' in row
    c.post(reverse("approvals:decide", args=[request.pk]), {"step": 1, "decision": "reject"}, HTTP_HX_REQUEST="true")
    body = c.get(reverse("notifications")).content.decode()
    assert f'data-testid="approve-{request.pk}"' not in body and "Rejected" in body


@pytest.mark.django_db
def test_another_tenants_request_is_404(world_a, world_b, client_for, outcomes):
    request = submit(world_a)
    for user in (world_b.admin, world_b.manager, world_b.rep1):
        c = client_for(user)
        assert c.get(reverse("approvals:detail", args=[request.pk])).status_code == 404
        assert (
            c.post(reverse("approvals:decide", args=[request.pk]), {"step": 1, "decision": "approve"}).status_code
            == 404
        )
        assert c.post(reverse("approvals:withdraw", args=[request.pk])).status_code == 404
        assert not c.get(LIST, {"box": "all"}).context["rows"]
    assert ApprovalRequest.objects.get(pk=request.pk).status == "pending"


@pytest.mark.django_db
def test_the_list_runs_a_bounded_number_of_queries(world_a, client_for, outcomes, django_assert_max_num_queries):
    for i in range(30):
        submit(world_a, "8000", obj=TeamFactory(tenant=world_a.tenant, parent=world_a.team1, name=f"T{i}"))
    c = client_for(world_a.admin)
    with django_assert_max_num_queries(12):
        response = c.get(LIST, {"box": "all"})
    assert len(response.context["rows"]) == 30
    with django_assert_max_num_queries(12):
        c.get(reverse("notifications"))


@pytest.mark.django_db
def test_home_widget_and_chinese(world_a, client_for, outcomes):
    submit(world_a)
    world_a.manager.language = "zh-hans"
    world_a.manager.save(update_fields=["language"])
    c = client_for(world_a.manager)
    home = c.get(reverse("home")).content.decode()
    assert 'data-testid="approvals-widget"' in home and "Budget for the trade fair" in home
    body = c.get(LIST).content.decode()
    assert "审批" in body and "批准" in body
