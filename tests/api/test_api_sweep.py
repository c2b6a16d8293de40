"""The cross-tenant sweep again, through the REST API with personal tokens: every registered resource, listed,
searched, fetched and changed by the other company's users, shows nothing of tenant A and changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from crm.api.services.token import token_create
from crm.registry import registry

from ..security.test_url_sweep import (
    all_patterns,
    assert_no_marker,
    load_samples,
    snapshot,
    sweep,  # noqa: F401  (the fixture that plants both tenants)
)


def token_client(user) -> Client:
    _token, raw = token_create(acting_user=user, name="sweep", scope="write")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def unchanged_rows(tenant) -> dict:
    """The tenant's rows but its tokens (whose last use A's own viewer moves)."""
    rows = snapshot(tenant)
    rows.pop("api.ApiToken", None)
    return rows


@pytest.mark.django_db
def test_every_resource_is_swept():
    names = {name for name, _params in all_patterns()}
    samples = load_samples()[0]
    for resource in registry.api_resources():
        detail = f"api:{resource.basename}-detail"
        assert detail in names and detail in samples, f"{detail}: give it a sample in tests/security/samples_api.py"


@pytest.mark.django_db
def test_api_cross_tenant_sweep(sweep):  # noqa: F811
    world_a, world_b = sweep.a, sweep.b
    viewer = token_client(world_a.admin)
    before = unchanged_rows(world_a.tenant)
    api_names = [(name, params) for name, params in all_patterns() if name.startswith("api:") and "-" in name]
    assert len(api_names) >= 2 * len(registry.api_resources())
    outsiders = [token_client(user) for user in (world_b.admin, world_b.manager, world_b.rep1, world_b.agent)]
    for name, params in api_names:
        url = reverse(name, kwargs=sweep.kwargs_a[name] if params else {})
        for client in outsiders:
            for method in ("get", "post", "put", "patch", "delete"):
                response = getattr(client, method)(url, {"name": "x"}, content_type="application/json")
                where = f"{method.upper()} {url}"
                assert response.status_code != 500, where
                assert_no_marker(response, where)
                if params:
                    assert response.status_code in (404, 405), f"{where}: got {response.status_code}"
            if not params:
                assert_no_marker(client.get(url, {"q": "MARK"}), f"search {url}")
                listed = client.get(url).json()
                assert "results" in listed, url
        if params and name.endswith("-detail"):
            assert viewer.get(url).status_code == 200, f"{name}: A's admin could not read {url}"
    assert unchanged_rows(world_a.tenant) == before


@pytest.mark.django_db
def test_read_only_tokens_write_nothing(sweep):  # noqa: F811
    """A token of scope `read` is refused (403) every write of every resource, even its administrator's own."""
    world_a = sweep.a
    _token, raw = token_create(acting_user=world_a.admin, name="reader", scope="read")
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    before = unchanged_rows(world_a.tenant)
    api_names = [(name, params) for name, params in all_patterns() if name.startswith("api:") and "-" in name]
    for name, params in api_names:
        url = reverse(name, kwargs=sweep.kwargs_a[name] if params else {})
        for method in ("post", "put", "patch", "delete"):
            response = getattr(reader, method)(url, {"name": "x"}, content_type="application/json")
            assert response.status_code == 403, f"{method.upper()} {url}: got {response.status_code}"
            assert response.json()["error"]["code"] == "permission_denied", url
    assert unchanged_rows(world_a.tenant) == before
