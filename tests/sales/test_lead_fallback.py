"""Lead fall-back: the one predicate (per source, follow-up and conversion clocks, extension), the set-based job,
the warning ladder, the simulation — the three agree on the same data — and the date the lead list shows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.models import AuditEvent, Notification
from crm.workcalendar.selectors import local_today
from sales.models import Lead, LeadFallbackWarning, LeadOwnershipEvent, LeadPoolRule, LeadStatus
from sales.selectors.lead_pool import (
    lead_fallback_day,
    lead_fallback_due,
    lead_pool_simulate,
    with_lead_fallback_at,
)
from sales.services.lead_fallback import lead_fallback_run, lead_warn_run, lead_warning_candidates

from ..conftest import build_world, wait_for
from .lead_pools import held_lead, lead_pool


def _held(world, pool, name, **kwargs):
    return held_lead(world, world.rep1, pool, name, **kwargs)


@pytest.mark.django_db
def test_the_predicate_follows_source_rules_both_clocks_and_extensions(world_a):
    pool = lead_pool(world_a, no_followup_days=10, no_conversion_days=60)
    LeadPoolRule.objects.create(tenant=world_a.tenant, pool=pool, source="展会", no_followup_days=30)
    stale = _held(world_a, pool, "十二天没跟进", owned_days_ago=20, followed_days_ago=12, source="官网")
    fresh = _held(world_a, pool, "五天前跟进", owned_days_ago=20, followed_days_ago=5)
    fair = _held(world_a, pool, "展会二十天", owned_days_ago=40, followed_days_ago=20, source="展会")
    fair_stale = _held(world_a, pool, "展会四十天", owned_days_ago=50, followed_days_ago=40, source="展会")
    unconverted = _held(world_a, pool, "七十天未转化", owned_days_ago=70, followed_days_ago=1)
    extended = _held(world_a, pool, "延期", owned_days_ago=20, followed_days_ago=12, extension_days=7)
    closed = _held(
        world_a, pool, "已作废", owned_days_ago=90, status=LeadStatus.DISQUALIFIED, disqualified_reason="无效"
    )
    due = set(lead_fallback_due(pool))
    assert due == {stale, fair_stale, unconverted}
    assert not due & {fresh, fair, extended, closed}


@pytest.mark.django_db
def test_the_job_moves_set_based_records_events_and_tells_the_owner(world_a, django_capture_on_commit_callbacks):
    pool = lead_pool(world_a, no_followup_days=10)
    stale = [_held(world_a, pool, f"过期{i}", owned_days_ago=30, followed_days_ago=15) for i in range(3)]
    keep = _held(world_a, pool, "保留", owned_days_ago=30, followed_days_ago=2)
    with django_capture_on_commit_callbacks(execute=False):
        assert lead_fallback_run(tenant=world_a.tenant) == 3
        assert lead_fallback_run(tenant=world_a.tenant) == 0  # idempotent
    assert not Lead.objects.filter(pk__in=[x.pk for x in stale], owner__isnull=False).exists()
    assert set(Lead.objects.in_pools_for(world_a.rep2)) == set(stale)
    assert LeadOwnershipEvent.objects.filter(reason="fallback", from_owner=world_a.rep1, to_pool=pool).count() == 3
    assert Lead.objects.get(pk=keep.pk).owner == world_a.rep1
    assert Notification.objects.filter(recipient=world_a.rep1).count() == 1
    assert AuditEvent.objects.filter(action="lead_pool.fallback", details__leads=3).exists()


@pytest.mark.django_db
def test_the_warning_ladder_warns_once_per_step(world_a, django_capture_on_commit_callbacks):
    pool = lead_pool(world_a, no_followup_days=10, warn_days_before=3)
    tomorrow = _held(world_a, pool, "明天回收", owned_days_ago=30, followed_days_ago=9)
    soon = _held(world_a, pool, "三天内回收", owned_days_ago=30, followed_days_ago=7)
    later = _held(world_a, pool, "还早", owned_days_ago=30, followed_days_ago=1)
    with django_capture_on_commit_callbacks(execute=False):
        assert lead_warn_run(tenant=world_a.tenant, force=True) == 2
        assert lead_warn_run(tenant=world_a.tenant, force=True) == 0
    steps = dict(LeadFallbackWarning.objects.values_list("lead_id", "step"))
    assert steps == {tomorrow.pk: "last_day", soon.pk: "early"}
    assert later.pk not in steps
    assert Notification.objects.filter(recipient=world_a.rep1).count() == 1


@pytest.mark.django_db
def test_job_warnings_and_simulation_agree_on_the_same_data(world_a, django_capture_on_commit_callbacks):
    pool = lead_pool(world_a, no_followup_days=10, no_conversion_days=45, warn_days_before=4)
    LeadPoolRule.objects.create(tenant=world_a.tenant, pool=pool, source="展会", no_followup_days=20)
    for i, (owned, followed, source) in enumerate(
        [
            (30, 12, ""),
            (30, 9, ""),
            (30, 7, ""),
            (44, 1, ""),
            (46, 1, ""),
            (40, 19, "展会"),
            (40, 17, "展会"),
            (40, 3, ""),
        ]
    ):
        _held(world_a, pool, f"样本{i}", owned_days_ago=owned, followed_days_ago=followed, source=source)
    now = timezone.now()
    sim = lead_pool_simulate(pool, now=now)
    warned = {(pk, step) for pk, _o, _s, _n, step, _d in lead_warning_candidates(world_a.tenant, now)}
    assert sim.new_warnings == warned and sim.warned_count == len(warned) > 0
    # The lead list's date is the predicate's arithmetic: due by day d exactly when it falls back by then.
    today = local_today(world_a.tenant, now)
    annotated = {lead.pk: lead for lead in with_lead_fallback_at(Lead.objects.filter(pool=pool), world_a.tenant)}
    for days_ahead in range(0, 6):
        due = set(lead_fallback_due(pool, now=now, days_ahead=days_ahead).values_list("pk", flat=True))
        by_date = {
            pk
            for pk, lead in annotated.items()
            if lead_fallback_day(lead) and lead_fallback_day(lead) <= today + dt.timedelta(days=days_ahead)
        }
        assert due == by_date, days_ahead
    with django_capture_on_commit_callbacks(execute=False):
        moved = lead_fallback_run(tenant=world_a.tenant, now=now)
    assert moved == sim.due_count > 0
    assert set(LeadOwnershipEvent.objects.filter(reason="fallback").values_list("lead_id", flat=True)) == sim.due_ids


@pytest.mark.django_db
def test_the_simulation_of_unsaved_rules_writes_nothing(world_a):
    pool = lead_pool(world_a, no_followup_days=30)
    lead = _held(world_a, pool, "二十天", owned_days_ago=40, followed_days_ago=20)
    assert lead_pool_simulate(pool).due_count == 0
    sim = lead_pool_simulate(pool, overrides={"no_followup_days": 15, "no_conversion_days": None, "source_rules": {}})
    assert sim.due_ids == {lead.pk}
    assert Lead.objects.get(pk=lead.pk).owner == world_a.rep1
    assert not LeadOwnershipEvent.objects.exists() and not LeadFallbackWarning.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_hourly_job_reaches_every_tenant_through_a_real_worker(celery_worker):
    """The dispatcher reads the tenant list; each tenant's run happens in its context, as the app role."""
    from sales.tasks import lead_fallback_to_pool

    stale = []
    for prefix in ("LF", "LG"):
        world = build_world(prefix)
        pool = lead_pool(world, no_followup_days=10)
        stale.append(held_lead(world, world.rep1, pool, f"{prefix} 过期", owned_days_ago=30, followed_days_ago=20))
    lead_fallback_to_pool.delay()
    assert wait_for(lambda: not Lead.objects.filter(pk__in=[x.pk for x in stale], owner__isnull=False).exists())
    assert LeadOwnershipEvent.objects.filter(lead__in=stale, reason="fallback").count() == 2


@pytest.mark.django_db
def test_an_approved_extension_postpones_the_fall_back(world_a, django_capture_on_commit_callbacks):
    from crm.approvals.models import ApprovalRequest
    from crm.approvals.services import approval_decide
    from crm.errors import DomainError
    from sales.models import LeadExtensionRequest
    from sales.services.lead_pool import lead_extension_request

    pool = lead_pool(world_a, no_followup_days=10, extension_days=5)
    lead = _held(world_a, pool, "要延期", owned_days_ago=30, followed_days_ago=11)
    assert lead in set(lead_fallback_due(pool))
    with django_capture_on_commit_callbacks(execute=False):
        with pytest.raises(DomainError, match="Say why"):
            lead_extension_request(acting_user=world_a.rep1, lead=lead, reason="")
        request = lead_extension_request(acting_user=world_a.rep1, lead=lead, reason="客户下周来访")
        with pytest.raises(DomainError, match="already asked"):
            lead_extension_request(acting_user=world_a.rep1, lead=lead, reason="再来一次")
        approval = ApprovalRequest.objects.get(kind="lead_pool.extension", object_id=request.pk)
        approval_decide(acting_user=world_a.manager, request_id=approval.pk, step=1, approve=True)
    lead.refresh_from_db()
    assert lead.extension_days == 5
    assert LeadExtensionRequest.objects.get(pk=request.pk).status == "approved"
    assert LeadOwnershipEvent.objects.filter(lead=lead, reason="extension").exists()
    assert lead not in set(lead_fallback_due(pool))
    assert AuditEvent.objects.filter(action="lead.extension.approved", object_id=str(lead.pk)).exists()


@pytest.mark.django_db
def test_the_last_day_warning_tells_the_manager_too(world_a, django_capture_on_commit_callbacks):
    pool = lead_pool(world_a, no_followup_days=10, warn_days_before=3)
    tomorrow = _held(world_a, pool, "明天回收", owned_days_ago=30, followed_days_ago=9)
    _held(world_a, pool, "三天内回收", owned_days_ago=30, followed_days_ago=7)
    with django_capture_on_commit_callbacks(execute=False):
        assert lead_warn_run(tenant=world_a.tenant, force=True) == 2
        assert lead_warn_run(tenant=world_a.tenant, force=True) == 0
    owner_note = Notification.objects.get(recipient=world_a.rep1)
    assert "明天回收" in owner_note.body and "三天内回收" in owner_note.body
    # The manager hears of the last day only, with whose lead it is; once.
    manager_note = Notification.objects.get(recipient=world_a.manager)
    assert manager_note.body.splitlines() == [f"{tomorrow.name} — tomorrow ({world_a.rep1.full_name})"] or (
        manager_note.body.splitlines() == [f"{tomorrow.name} — 明天 ({world_a.rep1.full_name})"]
    )
    assert "三天内回收" not in manager_note.body
