"""Assignment rules pick region and industry from the company's value lists: a closed list is a picker that refuses
other values (the form and the service), an alias is stored as the list's value, a value the rule had from before
stays; an open list keeps typed values."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.errors import DomainError
from customers.models import AssignmentRule
from customers.services.assignment_rule import rule_save
from customers.services.choice_list import choice_list_save
from customers.services.tenant import tenant_defaults

from .test_assignment import rule_form


@pytest.fixture
def admin(world_a):
    tenant_defaults(tenant=world_a.tenant)
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])
    return world_a.admin


@pytest.mark.django_db
def test_the_rule_form_picks_regions_from_the_closed_list(world_a, admin, client_for):
    c = client_for(admin)
    page = c.get(reverse("assignment:create")).content.decode()
    assert '<select name="regions"' in page and '<option value="浙江省">' in page
    refused = c.post(reverse("assignment:create"), rule_form(world_a, regions=["浙江省", "火星"]))
    assert refused.status_code == 422
    assert "“火星” is not in the" in refused.content.decode()
    assert not AssignmentRule.objects.filter(tenant=world_a.tenant).exists()
    saved = c.post(reverse("assignment:create"), rule_form(world_a, regions=["浙江省", "上海市"]))
    assert saved.status_code == 302
    assert AssignmentRule.objects.get(tenant=world_a.tenant).regions == ["浙江省", "上海市"]


@pytest.mark.django_db
def test_the_service_resolves_aliases_refuses_others_and_keeps_old_values(world_a, admin):
    base = {"acting_user": admin, "tenant": world_a.tenant, "applies_to": "both", "team": world_a.sales}
    base["method"] = "round_robin"
    with pytest.raises(DomainError, match="火星") as refused:
        rule_save(name="华东", regions=["上海", "火星"], **base)
    assert refused.value.errors[0][0] == "regions"
    rule = rule_save(name="华东", regions=["上海", "杭州"], **base)
    assert rule.regions == ["上海市", "浙江省"]
    # A value from before the list (written straight to the row) stays while the rule is edited.
    AssignmentRule.objects.filter(pk=rule.pk).update(regions=["上海市", "华东区"])
    rule.refresh_from_db()
    rule = rule_save(rule=rule, name="华东", regions=["华东区", "江苏"], **base)
    assert rule.regions == ["华东区", "江苏省"]


@pytest.mark.django_db
def test_an_old_value_stays_selectable_on_the_form(world_a, admin, client_for):
    base = {"acting_user": admin, "tenant": world_a.tenant, "applies_to": "both", "team": world_a.sales}
    rule = rule_save(name="旧规则", method="round_robin", **base)
    AssignmentRule.objects.filter(pk=rule.pk).update(regions=["华东区"])
    page = client_for(admin).get(reverse("assignment:edit", args=[rule.pk])).content.decode()
    assert "华东区 (not in the list)" in page


@pytest.mark.django_db
def test_an_open_list_keeps_typed_values(world_a, admin, client_for):
    choice_list_save(acting_user=admin, kind="region", allow_other=True)
    c = client_for(admin)
    page = c.get(reverse("assignment:create")).content.decode()
    assert '<select name="regions"' not in page and 'list="regions-options"' in page
    saved = c.post(reverse("assignment:create"), rule_form(world_a, regions="华东区, 上海"))
    assert saved.status_code == 302
    assert AssignmentRule.objects.get(tenant=world_a.tenant).regions == ["华东区", "上海市"]
