"""Lead scoring: rules held in the database (field, condition, points), scores computed by one UPDATE with their
breakdown, every lead rescored when the rules change (at once, or by a job through a real worker for a large
tenant), bad rules refused with nothing saved, and the settings page for admins only."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.errors import DomainError
from sales.models import Lead, LeadScoringRule
from sales.services.conversion import lead_convert
from sales.services.lead import lead_create
from sales.services.lead_scoring import _rules_lock, score_breakdown, score_leads, scoring_rule_save

from ..conftest import build_world, wait_for
from .funnel import make_lead, qualified_lead
from .helpers import make_customer

RULES = reverse("sales:scoring_rules")


def rule(user, field, condition, value, points):
    return scoring_rule_save(acting_user=user, field=field, condition=condition, value=value, points=points)[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field, condition, value, matching, other",
    [
        ("source", "equals", "官网", {"source": "官网"}, {"source": "官网表单"}),
        ("source", "equals", "website", {"source": "WebSite"}, {"source": "web"}),
        ("industry", "one_of", "制造业，金融, 医疗", {"industry": "金融"}, {"industry": "零售"}),
        ("company", "contains", "集团", {"company": "杭州海天集团有限公司"}, {"company": "杭州海天有限公司"}),
        ("title", "starts_with", "总", {"title": "总经理"}, {"title": "副总经理"}),
        ("email", "ends_with", "@qq.com", {"email": "a@QQ.com"}, {"email": "a@qq.com.cn"}),
        ("phone", "is_set", "", {"phone": "13800001234"}, {"email": "x@y.test"}),
        ("company", "is_empty", "", {"company": ""}, {"company": "有公司"}),
        ("campaign", "contains", "展会", {"campaign": "2026春季展会"}, {"campaign": "双十一"}),
    ],
)
def test_each_condition(world, field, condition, value, matching, other):
    rule(world.admin, field, condition, value, 7)
    hit = make_lead(world.rep1, "命中", **matching)
    miss = make_lead(world.rep1, "未命中", **other)
    assert (hit.score, miss.score) == (7, 0)
    assert score_breakdown(hit)[0].points == 7 and score_breakdown(miss) == []


@pytest.mark.django_db
def test_entered_through_matches_its_label_in_either_language(world):
    rule(world.admin, "origin", "equals", "Web form", 15)
    rule(world.admin, "origin", "one_of", "manual", 1)
    lead = make_lead(world.rep1, "手工")
    assert lead.score == 1
    assert Lead.objects.filter(pk=lead.pk).update(origin="web_form") == 1
    score_leads(tenant_id=world.tenant.pk, lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.score == 15


@pytest.mark.django_db
def test_a_score_is_the_sum_with_its_breakdown_and_negative_points(world, client_for):
    a = rule(world.admin, "source", "equals", "展会", 20)
    b = rule(world.admin, "phone", "is_set", "", 10)
    c = rule(world.admin, "email", "ends_with", "@qq.com", -5)
    rule(world.admin, "industry", "equals", "金融", 30)
    lead = make_lead(world.rep1, "陈一", source="展会", phone="13800002222", email="chen@qq.com")
    assert lead.score == 25
    assert [r.pk for r in score_breakdown(lead)] == [a.pk, b.pk, c.pk]
    page = client_for(world.rep1).get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert 'data-testid="score">25<' in page and "Source is “展会”" in page and "-5" in page


@pytest.mark.django_db
def test_changing_the_rules_rescores_every_lead_but_converted_ones_keep_theirs(world, client_for):
    first = make_lead(world.rep1, "甲", source="官网")
    second = make_lead(world.rep2, "乙", source="展会")
    converted = qualified_lead(world.rep1, "丙", source="官网", company="丙公司")
    lead_convert(acting_user=world.rep1, lead=converted)
    assert first.score == second.score == 0
    c = client_for(world.admin)
    response = c.post(
        RULES, {"field": "source", "condition": "equals", "value": "官网", "points": "40", "is_active": "on"}
    )
    assert response.status_code == 302
    scores = dict(Lead.objects.values_list("name", "score"))
    assert scores == {"甲": 40, "乙": 0, "丙": 0}
    new_rule = LeadScoringRule.objects.get()
    c.post(
        reverse("sales:scoring_rule_edit", args=[new_rule.pk]),
        {"field": "source", "condition": "one_of", "value": "官网, 展会", "points": "15", "is_active": "on"},
    )
    assert dict(Lead.objects.values_list("name", "score")) == {"甲": 15, "乙": 15, "丙": 0}
    # Switched off: it no longer counts.
    c.post(
        reverse("sales:scoring_rule_edit", args=[new_rule.pk]),
        {"field": "source", "condition": "one_of", "value": "官网, 展会", "points": "15"},
    )
    assert dict(Lead.objects.values_list("name", "score")) == {"甲": 0, "乙": 0, "丙": 0}
    c.post(reverse("sales:scoring_rule_delete", args=[new_rule.pk]))
    assert not LeadScoringRule.objects.exists()
    page = c.get(RULES).content.decode()
    assert "No rules yet" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, message",
    [
        ({"field": "source", "condition": "equals", "value": "", "points": "5"}, "Enter the value to compare with."),
        ({"field": "source", "condition": "equals", "value": "x", "points": "0"}, "not zero"),
        ({"field": "source", "condition": "equals", "value": "x", "points": "5000"}, "between -1000 and 1000"),
        ({"field": "owner", "condition": "equals", "value": "x", "points": "5"}, "Select a valid choice"),
    ],
)
def test_a_bad_rule_is_refused_and_nothing_saved(world, client_for, data, message):
    response = client_for(world.admin).post(RULES, data)
    assert response.status_code == 422 and message in response.content.decode()
    assert not LeadScoringRule.objects.exists()


@pytest.mark.django_db
def test_only_admins_change_the_rules(world, world_b, client_for):
    own = rule(world.admin, "phone", "is_set", "", 5)
    for user in (world.rep1, world.manager):
        assert client_for(user).get(RULES).status_code == 403
        assert client_for(user).post(reverse("sales:scoring_rule_delete", args=[own.pk])).status_code == 403
    with pytest.raises(PermissionDenied):
        scoring_rule_save(acting_user=world.rep1, field="phone", condition="is_set", value="", points=5)
    c = client_for(world_b.admin)
    assert c.get(reverse("sales:scoring_rule_edit", args=[own.pk])).status_code == 404
    assert c.post(reverse("sales:scoring_rule_delete", args=[own.pk])).status_code == 404
    assert LeadScoringRule.objects.filter(pk=own.pk).exists()


@pytest.mark.django_db
def test_the_settings_page_counts_matches_in_one_query(world, client_for, django_assert_max_num_queries):
    for i in range(3):
        rule(world.admin, "source", "equals", f"来源{i}", 5)
    for i in range(6):
        make_lead(world.rep1, f"线索{i}", source=f"来源{i % 3}")
    c = client_for(world.admin)
    with CaptureQueriesContext(connection) as few:
        c.get(RULES)
    for i in range(3, 10):
        rule(world.admin, "source", "equals", f"来源{i}", 5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = c.get(RULES).content.decode()
    assert page.count('data-testid="rule-row"') == 10


@pytest.mark.django_db
def test_rule_value_checks_in_the_service(world):
    with pytest.raises(DomainError) as refused:
        scoring_rule_save(acting_user=world.admin, field="nope", condition="equals", value="x", points=5)
    assert refused.value.field == "field"
    rule_ = rule(world.admin, "company", "is_set", "ignored for this condition", 5)
    assert rule_.value == ""


# --- the job (a large tenant) ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_large_tenant_is_rescored_by_a_job(celery_worker, monkeypatch, client_for):
    world = build_world("S")
    for i in range(12):
        make_customer(world.rep1, f"大客户{i}号有限公司")  # a customer base, untouched by scoring
        lead_create(acting_user=world.rep1, data={"name": f"大量{i}", "wechat": f"wx{i}", "source": "展会"})
    monkeypatch.setattr("sales.services.lead_scoring.RECOMPUTE_INLINE_MAX", 5)
    c = client_for(world.admin)
    response = c.post(
        RULES, {"field": "source", "condition": "equals", "value": "展会", "points": "9", "is_active": "on"}
    )
    assert response.status_code == 302
    assert wait_for(lambda: Lead.objects.filter(score=9).count() == 12)
    # Running the job again changes nothing.
    from sales.tasks import recompute_lead_scores

    assert recompute_lead_scores(world.tenant.pk) == 12
    assert set(Lead.objects.values_list("score", flat=True)) == {9}


@pytest.mark.django_db(transaction=True)
def test_a_rule_change_during_an_import_is_told_to_retry_not_kept_waiting(monkeypatch, client_for):
    import threading

    from django.db import transaction

    world = build_world("W")
    world.admin.language = "en"
    world.admin.save(update_fields=["language"])
    monkeypatch.setattr("sales.services.lead_scoring.RULES_LOCK_TIMEOUT", "300ms")
    holding, release = threading.Event(), threading.Event()

    def an_import_scoring():
        try:
            with transaction.atomic():
                _rules_lock(world.tenant.pk, shared=True)
                holding.set()
                release.wait()  # the main thread sets it in its finally
        finally:
            connection.close()

    worker = threading.Thread(target=an_import_scoring)
    worker.start()
    try:
        assert holding.wait(60)
        response = client_for(world.admin).post(
            RULES, {"field": "phone", "condition": "is_set", "value": "", "points": "5", "is_active": "on"}
        )
        assert response.status_code == 422 and "try again in a minute" in response.content.decode()
        assert not LeadScoringRule.objects.exists()
    finally:
        release.set()
        worker.join()
    scoring_rule_save(acting_user=world.admin, field="phone", condition="is_set", value="", points=5)
    assert LeadScoringRule.objects.count() == 1
