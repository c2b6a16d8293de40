"""The stage pickers of lead conversion and of a new opportunity: the pipelines in order and, within each, the
stages in board order, each option marked with its pipeline so the page offers only the chosen pipeline's."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sales.models import Stage
from sales.services.pipeline import ensure_default_pipeline, pipeline_create, stage_move

from .funnel import make_lead


@pytest.mark.django_db
def test_conversion_offers_stages_in_board_order_marked_with_their_pipeline(world, client_for):
    default = ensure_default_pipeline(world.tenant)
    other = pipeline_create(acting_user=world.admin, name="渠道")
    open_stages = list(Stage.objects.filter(pipeline=default, kind="open").ordered())
    # The last open stage moved up: its position no longer follows its id.
    stage_move(acting_user=world.admin, stage=open_stages[-1], up=True)
    expected_default = [s.pk for s in Stage.objects.filter(pipeline=default, kind="open", is_active=True).ordered()]
    expected_other = [s.pk for s in Stage.objects.filter(pipeline=other, kind="open", is_active=True).ordered()]
    assert expected_default != sorted(expected_default)

    lead = make_lead(world.rep1, phone="13911112222")
    body = client_for(world.rep1).get(reverse("sales:lead_convert", args=[lead.pk])).content.decode()
    select = re.search(r'<select name="opportunity_stage".*?</select>', body, re.S).group(0)
    assert 'data-stages-of="opportunity_pipeline"' in select
    options = re.findall(r'<option value="(\d+)" data-pipeline="(\d+)"', select)
    assert [int(pk) for pk, _ in options] == expected_default + expected_other
    assert {pipeline for _, pipeline in options[: len(expected_default)]} == {str(default.pk)}
    assert {pipeline for _, pipeline in options[len(expected_default) :]} == {str(other.pk)}
    assert "js/sales/stages.js" in body


@pytest.mark.django_db
def test_a_stage_of_another_pipeline_is_refused(world, client_for):
    default = ensure_default_pipeline(world.tenant)
    other = pipeline_create(acting_user=world.admin, name="渠道")
    lead = make_lead(world.rep1, phone="13911113333")
    foreign_stage = Stage.objects.filter(pipeline=other, kind="open").first()
    response = client_for(world.rep1).post(
        reverse("sales:lead_convert", args=[lead.pk]),
        {
            "mode": "new",
            "customer_name": "云帆科技",
            "customer_kind": "company",
            "create_opportunity": "on",
            "opportunity_name": "首单",
            "opportunity_pipeline": default.pk,
            "opportunity_stage": foreign_stage.pk,
            "opportunity_currency": "CNY",
        },
    )
    assert response.status_code == 422
    lead.refresh_from_db()
    assert not lead.is_converted
