"""Lead pools (线索池): who sees which pool, the race-free claim with the pool's daily claims and re-claim cooldown,
release into a pool the rep chooses, managers' assignment, and where new leads enter a pool."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from crm.errors import DomainError
from crm.models import AuditEvent, Role
from sales.models import Lead, LeadOwnershipEvent, LeadPool, LeadWebForm
from sales.services.lead_pool import LeadClaimRefused, lead_claim, lead_pool_assign, lead_release
from sales.services.web_form import lead_submit_web_form

from ..conftest import build_world
from ..factories import UserFactory
from .funnel import make_lead
from .lead_pools import lead_pool, pooled_leads


@pytest.mark.django_db
def test_pools_are_seen_by_the_teams_they_name(world_a, world_b):
    pool = lead_pool(world_a, team=world_a.team1)
    (lead,) = pooled_leads(world_a, pool)
    assert list(Lead.objects.in_pools_for(world_a.rep1)) == [lead]
    assert list(Lead.objects.in_pools_for(world_a.rep2)) == []  # another team
    assert list(Lead.objects.in_pools_for(world_a.manager)) == [lead]  # manages team1
    assert list(Lead.objects.in_pools_for(world_a.agent)) == []  # not a sales role
    assert list(Lead.objects.in_pools_for(world_b.admin)) == []  # another tenant
    assert list(LeadPool.objects.visible_to(world_b.admin)) == []


@pytest.mark.django_db
def test_claim_takes_the_lead_records_it_and_audits(world_a):
    pool = lead_pool(world_a)
    (lead,) = pooled_leads(world_a, pool)
    claimed = lead_claim(rep=world_a.rep1, lead_id=lead.pk)
    assert claimed.owner == world_a.rep1 and claimed.owned_since is not None and claimed.pool == pool
    event = LeadOwnershipEvent.objects.get(lead=lead)
    assert (event.reason, event.to_owner, event.from_pool) == ("claim", world_a.rep1, pool)
    assert AuditEvent.objects.filter(action="lead.claim", object_id=str(lead.pk), actor=world_a.rep1).exists()
    with pytest.raises(LeadClaimRefused, match="Too late"):
        lead_claim(rep=world_a.rep2, lead_id=lead.pk)


@pytest.mark.django_db
def test_daily_claims_and_cooldown_refuse_with_the_rule(world_a):
    pool = lead_pool(world_a, max_claims_per_day=2, reclaim_cooldown_days=7)
    leads = pooled_leads(world_a, pool, count=4)
    lead_claim(rep=world_a.rep1, lead_id=leads[0].pk)
    lead_claim(rep=world_a.rep1, lead_id=leads[1].pk)
    with pytest.raises(LeadClaimRefused, match="today's 2 lead claims"):
        lead_claim(rep=world_a.rep1, lead_id=leads[2].pk)
    assert Lead.objects.get(pk=leads[2].pk).owner_id is None
    # Released: the rep may not take it back within the cooldown; a colleague may.
    lead_release(acting_user=world_a.rep1, lead=leads[0], pool=pool, reason="暂无需求")
    lead_claim(rep=world_a.rep2, lead_id=leads[3].pk)
    other_pool = lead_pool(world_a, name="另一个池")
    pool.max_claims_per_day = None
    pool.save()
    with pytest.raises(LeadClaimRefused, match="again from"):
        lead_claim(rep=world_a.rep1, lead_id=leads[0].pk)
    assert lead_claim(rep=world_a.rep2, lead_id=leads[0].pk).owner == world_a.rep2
    assert other_pool.pk  # a second pool does not share the first one's counter


@pytest.mark.django_db
def test_cannot_claim_from_a_pool_you_do_not_see_or_another_tenant(world_a, world_b):
    pool = lead_pool(world_a, team=world_a.service_team)
    (lead,) = pooled_leads(world_a, pool)
    with pytest.raises(Lead.DoesNotExist):
        lead_claim(rep=world_a.rep1, lead_id=lead.pk)
    with pytest.raises(Lead.DoesNotExist):
        lead_claim(rep=world_b.rep1, lead_id=lead.pk)
    with pytest.raises(PermissionDenied):
        lead_claim(rep=world_a.agent, lead_id=lead.pk)


@pytest.mark.django_db(transaction=True)
def test_sixteen_simultaneous_claimers_exactly_one_wins_each_round():
    world = build_world("LR")
    pool = lead_pool(world)
    reps = [UserFactory(tenant=world.tenant, team=world.team1, roles=[Role.REP]) for _ in range(16)]
    for round_ in range(8):
        (lead,) = pooled_leads(world, pool, prefix=f"抢线索{round_}-")
        barrier = threading.Barrier(len(reps))
        winners, losers = [], []

        def claim(rep, lead_id=lead.pk):
            try:
                barrier.wait()
                lead_claim(rep=rep, lead_id=lead_id)
                winners.append(rep.pk)
            except LeadClaimRefused:
                losers.append(rep.pk)
            finally:
                connection.close()

        threads = [threading.Thread(target=claim, args=(rep,)) for rep in reps]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(winners) == 1 and len(losers) == 15, (winners, losers)
        lead.refresh_from_db()
        assert lead.owner_id == winners[0]
        assert LeadOwnershipEvent.objects.filter(lead=lead, reason="claim").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_rep_never_exceed_the_daily_claims():
    world = build_world("LS")
    pool = lead_pool(world, max_claims_per_day=3)
    leads = pooled_leads(world, pool, prefix="上限", count=10)
    barrier = threading.Barrier(len(leads))

    def claim(lead_id):
        try:
            barrier.wait()
            lead_claim(rep=world.rep1, lead_id=lead_id)
        except LeadClaimRefused:
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(lead.pk,)) for lead in leads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Lead.objects.filter(owner=world.rep1).count() == 3
    assert LeadOwnershipEvent.objects.filter(to_owner=world.rep1, reason="claim").count() == 3


@pytest.mark.django_db
def test_release_into_a_chosen_pool_with_a_reason(world_a):
    home = lead_pool(world_a, name="华东线索池")
    other = lead_pool(world_a, name="展会线索池")
    hidden = lead_pool(world_a, name="客服线索池", team=world_a.service_team)
    (lead,) = pooled_leads(world_a, home)
    lead = lead_claim(rep=world_a.rep1, lead_id=lead.pk)
    with pytest.raises(DomainError, match="Say why"):
        lead_release(acting_user=world_a.rep1, lead=lead, pool=other, reason=" ")
    with pytest.raises(DomainError, match="may release into"):
        lead_release(acting_user=world_a.rep1, lead=lead, pool=hidden, reason="不合适")
    with pytest.raises(PermissionDenied):
        lead_release(acting_user=world_a.rep2, lead=lead, pool=other, reason="不合适")
    assert Lead.objects.get(pk=lead.pk).owner == world_a.rep1  # nothing written on refusal
    released = lead_release(acting_user=world_a.rep1, lead=lead, pool=other, reason="客户要求展会后再联系")
    assert released.owner_id is None and released.pool == other and released.owned_since is None
    event = LeadOwnershipEvent.objects.get(lead=lead, reason="release")
    assert (event.from_owner, event.from_pool, event.to_pool, event.note) == (
        world_a.rep1,
        home,
        other,
        "客户要求展会后再联系",
    )
    assert AuditEvent.objects.filter(action="lead.release", object_id=str(lead.pk)).exists()


@pytest.mark.django_db
def test_managers_assign_pool_leads_to_their_reps(world_a, world_b):
    pool = lead_pool(world_a)
    leads = pooled_leads(world_a, pool, count=3)
    with pytest.raises(PermissionDenied):
        lead_pool_assign(acting_user=world_a.rep1, lead_ids=[leads[0].pk], rep=world_a.rep1)
    with pytest.raises(DomainError, match="team you manage"):
        lead_pool_assign(acting_user=world_a.manager, lead_ids=[leads[0].pk], rep=world_b.rep1)
    assert lead_pool_assign(acting_user=world_a.manager, lead_ids=[x.pk for x in leads[:2]], rep=world_a.rep2) == 2
    assert set(Lead.objects.filter(owner=world_a.rep2).values_list("pk", flat=True)) == {leads[0].pk, leads[1].pk}
    assert LeadOwnershipEvent.objects.filter(reason="assign", to_owner=world_a.rep2).count() == 2
    with pytest.raises(DomainError, match="no longer in a lead pool"):
        lead_pool_assign(acting_user=world_a.manager, lead_ids=[leads[0].pk, leads[2].pk], rep=world_a.rep1)
    assert Lead.objects.get(pk=leads[2].pk).owner_id is None


@pytest.mark.django_db
def test_new_leads_nobody_owns_wait_in_the_default_pool(world_a):
    pool = lead_pool(world_a, is_default=True)
    web_form = LeadWebForm.objects.create(
        tenant=world_a.tenant, is_enabled=True, title="t", thank_you="thanks", fields=["name", "phone"]
    )
    from_form = lead_submit_web_form(web_form=web_form, data={"name": "网站访客", "phone": "13900139000"})
    assert from_form.owner_id is None and from_form.pool == pool
    assert from_form in Lead.objects.in_pools_for(world_a.rep1)
    typed = make_lead(world_a.rep1, "自己录入")
    assert typed.owner == world_a.rep1 and typed.pool == pool and typed.owned_since is not None
    assert typed not in Lead.objects.in_pools_for(world_a.rep1)
