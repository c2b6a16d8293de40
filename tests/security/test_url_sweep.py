"""The cross-tenant sweep: every URL pattern of the project, requested as a user of tenant B with real ids of
tenant A, answers 404 (or refuses) and never shows A's data.

Marker strings are planted in tenant A's rows ("MARKA"); no response to B may contain them, list and search pages
included. Each sample id is first checked to be a real object of A (A's viewer gets a non-404 answer), so a fake
id cannot make the sweep pass.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from crm.services.audit import audit
from crm.services.notification import notify
from customers.services.customer import customer_create
from customers.services.tenant import default_pool

from ..conftest import build_world

MARKER = "marka"
SKIPPED_NAMESPACES = {
    # Django admin is for the installation's operators only: tenant users are not staff and get its login page.
    "admin": "operators only",
}


def load_samples():
    samples, viewers, public, redirects = {}, {}, {}, {}
    package = importlib.import_module("tests.security")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("samples_"):
            module = importlib.import_module(f"tests.security.{info.name}")
            samples.update(getattr(module, "SAMPLES", {}))
            viewers.update(getattr(module, "VIEWERS", {}))
            public.update(getattr(module, "PUBLIC", {}))
            redirects.update(getattr(module, "REDIRECTS", {}))
    return samples, viewers, public, redirects


def walk(patterns, namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or ""
            if ns in SKIPPED_NAMESPACES:
                continue
            yield from walk(p.url_patterns, f"{namespace}{ns}:" if ns else namespace)
        elif isinstance(p, URLPattern) and p.name:
            yield (
                f"{namespace}{p.name}",
                tuple(sorted(p.pattern.converters.keys())) if hasattr(p.pattern, "converters") else (),
            )


def all_patterns():
    return sorted(set(walk(get_resolver().url_patterns)), key=lambda item: item[0])


def plant_data(world):
    """Give tenant A rows of every kind the project has, so list pages have something to leak."""

    customer_create(
        acting_user=world.rep1,
        data={"name": "MARKA 云帆科技有限公司", "industry": "MARKA-industry"},
        contact={"name": "MARKA 张三", "mobile": "13800138000", "email": "marka@marka.test"},
    )
    customer_create(
        acting_user=world.rep1,
        data={"name": "MARKA 可删除公司"},
        contact={"name": "MARKA 李四", "mobile": "13900139000"},
    )
    customer_create(
        acting_user=world.admin,
        data={"name": "MARKA claim me"},
        owner=None,
        to_pool=default_pool(world.tenant),
    )
    customer_create(
        acting_user=world.admin,
        data={"name": "MARKA pool customer"},
        owner=None,
        to_pool=default_pool(world.tenant),
    )
    notify(recipient=world.rep1, title="MARKA notification", body="MARKA body", email=True)
    notify(recipient=world.admin, title="MARKA admin notification", email=True)
    audit(tenant=world.tenant, actor=world.admin, action="marka.test", obj=world.rep1, details={"m": "MARKA"})


def assert_no_marker(response, where):
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    body = raw.decode(errors="replace").lower()
    assert MARKER not in body, f"{where}: tenant A's data leaked to tenant B"


@pytest.fixture
def sweep_worlds(db, django_capture_on_commit_callbacks):
    world_a = build_world("MARKA")
    world_b = build_world("B")
    with django_capture_on_commit_callbacks(execute=False):
        plant_data(world_a)
    return world_a, world_b


@pytest.mark.django_db
def test_every_pattern_has_a_sample_or_a_reason():
    samples, _, public, _redirects = load_samples()
    missing = [name for name, params in all_patterns() if params and name not in samples]
    assert not missing, f"URL patterns with arguments but no sample in tests/security/samples_*.py: {missing}"
    unknown = set(public) - {name for name, _ in all_patterns()}
    assert not unknown, f"PUBLIC lists patterns that do not exist: {unknown}"


@pytest.mark.django_db
def test_cross_tenant_sweep(sweep_worlds):
    world_a, world_b = sweep_worlds
    samples, viewers, public, redirects = load_samples()
    outsiders = [world_b.admin, world_b.manager, world_b.rep1]
    checked = 0
    for name, params in all_patterns():
        kwargs = samples[name](world_a) if params else {}
        url = reverse(name, kwargs=kwargs)
        if name in public:
            # Public pages must not show A's data to anyone either.
            for method in ("get", "post"):
                assert_no_marker(getattr(Client(), method)(url), f"anonymous {method.upper()} {url}")
            continue
        for outsider in outsiders:
            c = Client()
            c.force_login(outsider)
            for method in ("get", "post"):
                response = getattr(c, method)(url, HTTP_ACCEPT_LANGUAGE="en")
                where = f"{outsider.email} {method.upper()} {url} ({name})"
                assert response.status_code != 500, where
                assert_no_marker(response, where)
                if params:
                    assert response.status_code in (404, 405), f"{where}: expected 404, got {response.status_code}"
            # Search-like query strings on list pages must not reach A's rows either ("MARK" matches "MARKA" rows
            # but echoing the query itself does not contain the marker).
            if not params:
                assert_no_marker(c.get(url, {"q": "MARK", "search": "MARK"}), f"{outsider.email} search {url}")
        if params:
            # The sample is a real object of A: A's user who may see it is not told 404.
            viewer = getattr(world_a, viewers.get(name, "admin"))
            c = Client()
            c.force_login(viewer)
            get = c.get(url)
            if name in redirects:
                # An old URL kept for bookmarks: it sends A's user on to a page that answers.
                assert get.status_code == 302, f"{name}: A's own user got {get.status_code} for {url}"
                assert c.get(get["Location"]).status_code == 200, f"{name}: {url} leads nowhere"
            elif get.status_code == 405:
                post = c.post(url)
                assert post.status_code not in (404, 500), f"{name}: A's own user got {post.status_code} for {url}"
            else:
                assert get.status_code == 200, f"{name}: A's own user got {get.status_code} for {url}"
        checked += 1
    assert checked >= 10


@pytest.mark.django_db
def test_operators_admin_is_closed_to_tenant_users(sweep_worlds):
    _, world_b = sweep_worlds
    c = Client()
    c.force_login(world_b.admin)
    response = c.get("/admin/crm/user/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
