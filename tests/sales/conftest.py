"""Fixtures of the sales tests."""

import pytest

from sales.services.pipeline import ensure_default_pipeline

from .helpers import in_english


@pytest.fixture
def world(world_a):
    """Tenant A with English-reading users and its default pipeline (the funnel tests)."""
    in_english(world_a.admin, world_a.manager, world_a.rep1, world_a.rep2, world_a.agent)
    ensure_default_pipeline(world_a.tenant)
    return world_a
