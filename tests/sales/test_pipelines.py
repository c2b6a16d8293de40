"""Pipelines and stages configured by admins: default stages, several pipelines per tenant, won and lost always
there, probabilities checked, stages reordered, removed (or taken out of use when they have history), and the
settings pages scoped to the tenant's admins."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from crm.errors import DomainError
from crm.services.tenant import tenant_create
from sales.models import Pipeline, Stage
from sales.services.opportunity import opportunity_move
from sales.services.pipeline import ensure_default_pipeline, pipeline_create, stage_remove

from .funnel import make_opportunity, stages

SETTINGS = reverse("sales:pipeline_settings")


@pytest.mark.django_db
def test_a_new_company_starts_with_a_pipeline():
    tenant = tenant_create(
        name="新公司", slug="new-co", admin_email="a@new.test", admin_password="x-Pass-123", language="en"
    )
    pipeline = Pipeline.objects.get(tenant=tenant)
    kinds = [s.kind for s in Stage.objects.filter(pipeline=pipeline).ordered()]
    assert kinds == ["open", "open", "open", "open", "won", "lost"]
    assert ensure_default_pipeline(tenant) == pipeline
    assert Pipeline.objects.filter(tenant=tenant).count() == 1


@pytest.mark.django_db
def test_the_database_holds_the_stage_rules(world):
    pipeline, ordered = stages(world.tenant)
    won = ordered[-2]
    for bad in (
        lambda: Stage.objects.create(
            tenant=world.tenant, pipeline=pipeline, name="第二个赢单", kind="won", probability=100
        ),
        lambda: Stage.objects.create(tenant=world.tenant, pipeline=pipeline, name="超过", probability=101),
        lambda: Stage.objects.filter(pk=won.pk).update(probability=90),
        lambda: Stage.objects.create(tenant=world.tenant, pipeline=pipeline, name=ordered[0].name, probability=5),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            bad()


@pytest.mark.django_db
def test_an_admin_creates_a_second_pipeline_and_edits_its_stages(world, client_for):
    c = client_for(world.admin)
    response = c.post(SETTINGS, {"name": "续约"})
    renewals = Pipeline.objects.get(tenant=world.tenant, name="续约")
    assert response.status_code == 302 and response["Location"] == reverse("sales:pipeline_edit", args=[renewals.pk])
    assert c.post(SETTINGS, {"name": "续约"}).status_code == 422  # the name is taken
    edit = reverse("sales:pipeline_edit", args=[renewals.pk])
    response = c.post(edit, {"form": "stage", "name": "到期提醒", "probability": "101"})
    assert response.status_code == 422 and "from 0 to 100" in response.content.decode()
    c.post(edit, {"form": "stage", "name": "到期提醒", "probability": "35"})
    open_stages = list(Stage.objects.filter(pipeline=renewals, kind="open").order_by("position"))
    assert open_stages[-1].name == "到期提醒" and open_stages[-1].probability == 35
    # Move it up: it swaps with its neighbour.
    c.post(reverse("sales:stage_move", args=[open_stages[-1].pk]), {"direction": "up"})
    names = list(
        Stage.objects.filter(pipeline=renewals, kind="open").order_by("position").values_list("name", flat=True)
    )
    assert names[-2] == "到期提醒"
    # Won is renamed but stays at 100 %.
    won = Stage.objects.get(pipeline=renewals, kind="won")
    c.post(reverse("sales:stage_edit", args=[won.pk]), {"name": "已续约", "probability": "50"})
    won.refresh_from_db()
    assert (won.name, won.probability) == ("已续约", 100)
    page = c.get(SETTINGS).content.decode()
    assert "续约" in page and "已续约" in page


@pytest.mark.django_db
def test_removing_stages(world, client_for):
    pipeline, ordered = stages(world.tenant)
    c = client_for(world.admin)
    unused = ordered[3]
    c.post(reverse("sales:stage_delete", args=[unused.pk]))
    assert not Stage.objects.filter(pk=unused.pk).exists()
    # A stage with opportunities in it stays.
    opportunity = make_opportunity(world.rep1)
    first = opportunity.stage
    response = c.post(reverse("sales:stage_delete", args=[first.pk]), follow=True)
    assert "1 opportunities are in this stage" in response.content.decode()
    assert Stage.objects.get(pk=first.pk).is_active
    # Once it has history but nobody in it, it is taken out of use (its history stays for the reports).
    opportunity_move(acting_user=world.rep1, opportunity=opportunity, stage=ordered[1])
    c.post(reverse("sales:stage_delete", args=[first.pk]))
    first.refresh_from_db()
    assert not first.is_active
    # Won and lost are never removed.
    with pytest.raises(DomainError):
        stage_remove(acting_user=world.admin, stage=ordered[-1])
    c.post(reverse("sales:stage_delete", args=[first.pk]), {"restore": "1"})
    first.refresh_from_db()
    assert first.is_active


@pytest.mark.django_db
def test_a_pipeline_with_opportunities_is_taken_out_of_use_not_deleted(world, client_for):
    pipeline, _ordered = stages(world.tenant)
    spare = pipeline_create(acting_user=world.admin, name="备用")
    make_opportunity(world.rep1)
    c = client_for(world.admin)
    response = c.post(reverse("sales:pipeline_delete", args=[pipeline.pk]), follow=True)
    assert "take it out of use instead" in response.content.decode()
    c.post(reverse("sales:pipeline_delete", args=[spare.pk]))
    assert not Pipeline.objects.filter(pk=spare.pk).exists()
    # The last pipeline in use stays in use.
    response = c.post(reverse("sales:pipeline_edit", args=[pipeline.pk]), {"form": "pipeline", "name": pipeline.name})
    assert response.status_code == 422 and "Keep at least one pipeline in use." in response.content.decode()


@pytest.mark.django_db
def test_only_the_tenants_admins_configure_pipelines(world, world_b, client_for):
    pipeline, ordered = stages(world.tenant)
    for user in (world.manager, world.rep1):
        assert client_for(user).get(SETTINGS).status_code == 403
        assert client_for(user).get(reverse("sales:pipeline_edit", args=[pipeline.pk])).status_code == 403
    c = client_for(world_b.admin)
    for name in ("sales:pipeline_edit", "sales:pipeline_delete"):
        assert c.post(reverse(name, args=[pipeline.pk])).status_code == 404
    for name in ("sales:stage_edit", "sales:stage_move", "sales:stage_delete"):
        assert c.post(reverse(name, args=[ordered[0].pk])).status_code == 404
    assert Stage.objects.filter(pipeline=pipeline).count() == 6
