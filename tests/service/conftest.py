"""Fixtures of the service-desk tests: tenant A's users read English (the tenants speak zh-hans)."""

import pytest


@pytest.fixture(autouse=True)
def english_users(request):
    if "world_a" not in request.fixturenames:
        return
    world = request.getfixturevalue("world_a")
    for user in (world.admin, world.manager, world.rep1, world.rep2, world.agent):
        user.language = "en"
        user.save(update_fields=["language"])
