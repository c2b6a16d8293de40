"""Lead pools → Lead extension requests: managers see the requests on the leads they see (pending first by default,
filters by status, rep and pool), approve in place through the approvals engine and come back to the page; reps
are refused; another company's requests never show; bounded queries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.approvals.models import ApprovalRequest
from sales.models import LeadExtensionRequest
from sales.services.lead_pool import lead_extension_request

from .lead_pools import held_lead, lead_pool


def _ask(world, pool, name, rep=None, reason="客户下周签约"):
    lead = held_lead(world, rep or world.rep1, pool, name, owned_days_ago=40, followed_days_ago=28)
    return lead_extension_request(acting_user=rep or world.rep1, lead=lead, reason=reason)


@pytest.mark.django_db
def test_managers_list_filter_and_approve_lead_extensions(
    world, world_b, client_for, django_capture_on_commit_callbacks
):
    pool = lead_pool(world, no_followup_days=30, extension_days=5)
    other_pool = lead_pool(world, name="展会池", no_followup_days=30)
    with django_capture_on_commit_callbacks(execute=False):
        first = _ask(world, pool, "甲公司线索")
        second = _ask(world, other_pool, "乙公司线索", rep=world.rep2)
        foreign = _ask(world_b, lead_pool(world_b, no_followup_days=30), "别家线索")
    url = reverse("sales:lead_extensions")
    m = client_for(world.manager)
    body = m.get(url).content.decode()
    assert "甲公司线索" in body and "乙公司线索" in body and "别家线索" not in body
    approval = ApprovalRequest.objects.get(kind="lead_pool.extension", object_id=first.pk)
    assert f'data-testid="approve-{approval.pk}"' in body
    assert reverse("approvals:detail", args=[approval.pk]) in body
    # Filters: by pool, by rep; another company's pool or a nonsense value is ignored, never a 500.
    assert "乙公司线索" not in m.get(url, {"pool": pool.pk}).content.decode()
    assert "甲公司线索" not in m.get(url, {"rep": world.rep2.pk}).content.decode()
    foreign_pool = m.get(url, {"pool": foreign.lead.pool_id, "rep": "x", "status": "\x00"})
    assert foreign_pool.status_code == 200 and "甲公司线索" in foreign_pool.content.decode()
    # Approve in place: back to the page with its filters.
    back = url + "?status=all"
    with django_capture_on_commit_callbacks(execute=False):
        r = m.post(reverse("approvals:decide", args=[approval.pk]), {"step": 1, "decision": "approve", "next": back})
    assert r.status_code == 302 and r["Location"] == back
    assert LeadExtensionRequest.objects.get(pk=first.pk).status == "approved"
    pending = m.get(url).content.decode()
    assert "甲公司线索" not in pending and "乙公司线索" in pending
    decided = m.get(url, {"status": "decided"}).content.decode()
    assert "甲公司线索" in decided and "+5" in decided and "乙公司线索" not in decided
    # Reps are refused; the other company's manager sees only theirs.
    assert client_for(world.rep1).get(url).status_code == 403
    theirs = client_for(world_b.manager).get(url).content.decode()
    assert "别家线索" in theirs and "甲公司线索" not in theirs
    assert second.pk != foreign.pk


@pytest.mark.django_db
def test_the_lead_extensions_page_runs_a_bounded_number_of_queries(
    world, client_for, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    pool = lead_pool(world, no_followup_days=30)
    with django_capture_on_commit_callbacks(execute=False):
        for i in range(8):
            _ask(world, pool, f"线索{i}", rep=world.rep1 if i % 2 else world.rep2)
    c = client_for(world.manager)
    c.get(reverse("sales:lead_extensions"))
    with django_assert_max_num_queries(22):
        body = c.get(reverse("sales:lead_extensions")).content.decode()
    assert body.count(' id="lead-extension-') == 8
    assert 'data-testid="lead-extensions-link"' in c.get(reverse("sales:lead_pool_list")).content.decode()
