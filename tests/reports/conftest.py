"""Fixtures of the reports tests: tenant A with English-reading users and its default pipeline."""

import pytest

from sales.services.pipeline import ensure_default_pipeline
from tests.sales.helpers import in_english


@pytest.fixture
def world(world_a):
    in_english(world_a.admin, world_a.manager, world_a.rep1, world_a.rep2, world_a.agent)
    ensure_default_pipeline(world_a.tenant)
    return world_a
