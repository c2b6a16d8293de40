"""The cross-tenant sweep: every URL pattern of the project, requested as a user of tenant B with real ids of
tenant A, answers 404 (or refuses) and never shows A's data; and every form B's users are shown, posted back with
A's ids in place of B's, changes nothing of A's and shows none of it.

Both tenants get rows of every kind before anything is requested: the planting below, then every sample module's
rows (tests/security/samples_*.py), for A and for B, so no pattern is swept before its data exists. Each tenant's
rows carry its marker (tests/security/marks.py): "MARKA" in A's; no response to B may contain it, list and search
pages included. Each sample id is first checked to be a real object of A (A's viewer gets a non-404 answer), so a
fake id cannot make the sweep pass.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.html import escape

from crm.models import Tenant, User
from crm.services.audit import audit
from crm.services.notification import notify
from customers.services.customer import customer_create
from customers.services.tenant import default_pool

from ..conftest import World, build_world
from .marks import named

# The tenants' first words, matched without regard to case: "QMARKA", because plain "marka" is part of a real
# time-zone name that every company settings page offers (Asia/Samarkand).
MARKER = "qmarka"
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
    """Give a tenant rows of every kind the project has, so list pages have something to leak."""
    customer_create(
        acting_user=world.rep1,
        data={"name": named(world, "MARKA 云帆科技有限公司"), "industry": named(world, "MARKA-industry")},
        contact={
            "name": named(world, "MARKA 张三"),
            "mobile": "13800138000",
            "email": named(world, "MARKA@MARKA.test").lower(),
        },
    )
    customer_create(
        acting_user=world.rep1,
        data={"name": named(world, "MARKA 可删除公司")},
        contact={"name": named(world, "MARKA 李四"), "mobile": "13900139000"},
    )
    customer_create(
        acting_user=world.admin,
        data={"name": named(world, "MARKA claim me")},
        owner=None,
        to_pool=default_pool(world.tenant),
    )
    customer_create(
        acting_user=world.admin,
        data={"name": named(world, "MARKA pool customer")},
        owner=None,
        to_pool=default_pool(world.tenant),
    )
    notify(recipient=world.rep1, title=named(world, "MARKA notification"), body=named(world, "MARKA body"), email=True)
    notify(recipient=world.admin, title=named(world, "MARKA admin notification"), email=True)
    audit(
        tenant=world.tenant,
        actor=world.admin,
        action=named(world, "MARKA.test").lower(),
        obj=world.rep1,
        details={"m": named(world, "MARKA")},
    )


def plant_everything(world, samples) -> dict[str, dict]:
    """The planting above and every sample's rows, in the sweep's order: {url name: its kwargs in `world`}."""
    plant_data(world)
    return {name: samples[name](world) for name, params in all_patterns() if params}


def load_company_headers() -> dict[str, str]:
    """{url name: why}: the public pages whose header names their own company (SHOWS_COMPANY_NAME of the sample
    modules). The tenant's name is tenant data; on these pages, and only in the one element that holds it
    (`data-testid="public-company-name"`), it is what the page is for."""
    shown = {}
    package = importlib.import_module("tests.security")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("samples_"):
            shown.update(getattr(importlib.import_module(f"tests.security.{info.name}"), "SHOWS_COMPANY_NAME", {}))
    return shown


def company_header(tenant) -> str:
    """The one element a public page of SHOWS_COMPANY_NAME names its company in, exactly as rendered."""
    return f'<span data-testid="public-company-name">{escape(tenant.name)}</span>'


def assert_no_marker(response, where, *, allowed: str = ""):
    """No marker in the response; `allowed` (an exact fragment, the company header) is taken out once first."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    body = raw.decode(errors="replace")
    if allowed:
        assert body.count(allowed) == 1, f"{where}: the company's header is not where it is allowed"
        body = body.replace(allowed, "", 1)
    assert MARKER not in body.lower(), f"{where}: tenant A's data leaked to tenant B"


@dataclass
class Sweep:
    a: World
    b: World
    kwargs_a: dict[str, dict]
    kwargs_b: dict[str, dict]


@pytest.fixture
def sweep(db, django_capture_on_commit_callbacks):
    """Both tenants, fully planted before the first request."""
    samples = load_samples()[0]
    world_a = build_world("QMARKA")
    world_b = build_world("QMARKB")
    with django_capture_on_commit_callbacks(execute=False):
        kwargs_a = plant_everything(world_a, samples)
        kwargs_b = plant_everything(world_b, samples)
    return Sweep(world_a, world_b, kwargs_a, kwargs_b)


@pytest.mark.django_db
def test_every_pattern_has_a_sample_or_a_reason():
    samples, _, public, _redirects = load_samples()
    missing = [name for name, params in all_patterns() if params and name not in samples]
    assert not missing, f"URL patterns with arguments but no sample in tests/security/samples_*.py: {missing}"
    unknown = set(public) - {name for name, _ in all_patterns()}
    assert not unknown, f"PUBLIC lists patterns that do not exist: {unknown}"


@pytest.mark.django_db
def test_cross_tenant_sweep(sweep):
    world_a, world_b = sweep.a, sweep.b
    _samples, viewers, public, redirects = load_samples()
    shows_company = load_company_headers()
    outsiders = [world_b.admin, world_b.manager, world_b.rep1]
    checked = 0
    for name, params in all_patterns():
        kwargs = sweep.kwargs_a[name] if params else {}
        url = reverse(name, kwargs=kwargs)
        if name in public:
            # Public pages must not show A's data to anyone either, but for the company's own name in the header of
            # the pages that name it (SHOWS_COMPANY_NAME), on the pages that answer.
            for method in ("get", "post"):
                response = getattr(Client(), method)(url)
                allowed = (
                    company_header(world_a.tenant) if name in shows_company and response.status_code == 200 else ""
                )
                assert_no_marker(response, f"anonymous {method.upper()} {url}", allowed=allowed)
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
def test_operators_admin_is_closed_to_tenant_users(world_b):
    c = Client()
    c.force_login(world_b.admin)
    response = c.get("/admin/crm/user/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- forms posted back with the other tenant's ids ----------------------------------------------------------------


class Forms(HTMLParser):
    """The forms of a page: action, method and fields (inputs, selects with their options, textareas), a field
    outside its form (form="…") included."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.by_id: dict[str, dict] = {}
        self._form: dict | None = None
        self._select: dict | None = None
        self._textarea: dict | None = None
        self.orphans: list[tuple[str, dict]] = []

    def _add(self, field: dict, attrs: dict) -> None:
        owner = attrs.get("form")
        if owner:
            self.orphans.append((owner, field))
        elif self._form is not None:
            self._form["fields"].append(field)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": attrs.get("action", ""), "method": attrs.get("method", "get").lower(), "fields": []}
            self.forms.append(self._form)
            if attrs.get("id"):
                self.by_id[attrs["id"]] = self._form
        elif tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text").lower()
            if kind in ("file", "submit", "button", "reset", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs and not attrs.get("value", "").isdigit():
                return
            self._add({"name": attrs["name"], "kind": kind, "value": attrs.get("value", ""), "options": []}, attrs)
        elif tag == "select" and attrs.get("name"):
            self._select = {
                "name": attrs["name"],
                "kind": "select",
                "value": "",
                "options": [],
                "multiple": "multiple" in attrs,
            }
            self._add(self._select, attrs)
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            self._select["options"].append(value)
            if "selected" in attrs or not self._select["value"]:
                self._select["value"] = value
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = {"name": attrs["name"], "kind": "textarea", "value": "", "options": []}
            self._add(self._textarea, attrs)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def close(self):
        super().close()
        for owner, field in self.orphans:
            if owner in self.by_id:
                self.by_id[owner]["fields"].append(field)


def forms_of(response, url: str) -> list[dict]:
    parser = Forms()
    parser.feed(response.content.decode(errors="replace"))
    parser.close()
    for form in parser.forms:
        form["action"] = urljoin(url, form["action"]) if form["action"] else url
    return parser.forms


def tenant_models():
    return [m for m in apps.get_models() if any(f.name == "tenant" and f.is_relation for f in m._meta.fields)]


def snapshot(tenant) -> dict[str, list]:
    """Every row of `tenant`, table by table (and the tenant itself): what another tenant's requests must not change."""
    rows = {m._meta.label: list(m.objects.filter(tenant=tenant).order_by("pk").values()) for m in tenant_models()}
    rows["crm.Tenant"] = list(Tenant.objects.filter(pk=tenant.pk).values())
    return rows


def ids_by_value(tenant) -> dict[str, dict[str, list[str]]]:
    """{model label: {pk as text}} of the tenant's rows, and its users: to tell what kind of record an id names."""
    found = {
        m._meta.label: {str(pk) for pk in m.objects.filter(tenant=tenant).values_list("pk", flat=True)}
        for m in tenant_models()
    }
    found[User._meta.label] = {str(pk) for pk in User.objects.filter(tenant=tenant).values_list("pk", flat=True)}
    return found


def foreign(values: list[str], own: dict[str, set[str]], theirs: dict[str, list[str]]) -> list[str]:
    """Tenant A's ids of the kinds that B's ids `values` name: the kinds of which all of them are B's pks."""
    out: list[str] = []
    for label, pks in own.items():
        if set(values) <= pks:
            out += theirs[label]
    return out


def hostile_body(form: dict, own, theirs) -> tuple[dict, int]:
    """The form's own values with every id of B's (a select's options, a checked box, a hidden id, an "ids" list)
    replaced by A's ids of the same kind; returns the body and how many fields were replaced."""
    body: dict[str, list[str]] = {}
    replaced = 0
    every_a = sorted({v for values in theirs.values() for v in values}, key=int)
    for field in form["fields"]:
        name, value = field["name"], field["value"]
        swapped: list[str] = []
        if field["kind"] == "select":
            options = [option for option in field["options"] if option.isdigit()]
            swapped = foreign(options, own, theirs) if options else []
            if swapped and not field["multiple"]:
                swapped = swapped[:1]
        elif value.isdigit():
            swapped = foreign([value], own, theirs)
        elif name in ("ids", "selected") or (value and all(p.strip().isdigit() for p in value.split(","))):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            swapped = (foreign(parts, own, theirs) if parts else []) or every_a
        if name in ("csrfmiddlewaretoken",):
            continue
        if swapped:
            replaced += 1
            body[name] = [",".join(swapped)] if name == "ids" else sorted(set(swapped), key=int)
        else:
            body.setdefault(name, []).append(value or "MARKB")
    return body, replaced


def references_into(tenant, other) -> list[str]:
    """The relations by which rows of `tenant` point at rows of `other` (there must be none)."""
    found = []
    for model in tenant_models():
        rows = model.objects.filter(tenant=tenant)
        for field in model._meta.get_fields():
            target = field.related_model if field.is_relation and not field.auto_created else None
            if target is None or target is Tenant or not any(f.name == "tenant" for f in target._meta.fields):
                continue
            if rows.filter(**{f"{field.name}__tenant": other}).exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found


SKIPPED_FORMS = {
    # Logging out or switching language changes the session, not data; the sweep's users stay logged in.
    "logout",
    "set_language",
}


@pytest.mark.django_db
def test_forms_posted_with_the_other_tenants_ids_change_and_show_nothing_of_it(sweep):
    """Every page B's users open (with B's own sample ids), every form on it, posted back with A's ids of the same
    kind (customers, contacts, users, teams, pools, leads, stages… in selects, checkboxes, hidden fields and bulk
    "ids"): no 500, no trace of A in the answer, and not one of A's rows changed."""
    world_a, world_b = sweep.a, sweep.b
    _samples, _viewers, public, _redirects = load_samples()
    theirs = {label: sorted(values, key=int) for label, values in ids_by_value(world_a.tenant).items()}
    before = snapshot(world_a.tenant)
    posted = replaced_fields = 0
    for user in (world_b.admin, world_b.manager, world_b.rep1):
        c = Client()
        c.force_login(user)
        for name, params in all_patterns():
            if name in public or name in SKIPPED_FORMS:
                continue
            url = reverse(name, kwargs=sweep.kwargs_b[name] if params else {})
            page = c.get(url, HTTP_ACCEPT_LANGUAGE="en")
            if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
                continue
            own = ids_by_value(world_b.tenant)
            for form in forms_of(page, url):
                if any(reverse(skip) in form["action"] for skip in SKIPPED_FORMS):
                    continue
                body, replaced = hostile_body(form, own, theirs)
                if not replaced:
                    continue
                where = f"{user.email} {form['method'].upper()} {form['action']} (form on {name})"
                response = getattr(c, "post" if form["method"] == "post" else "get")(
                    form["action"], body, HTTP_ACCEPT_LANGUAGE="en"
                )
                assert response.status_code != 500, where
                assert_no_marker(response, where)
                after = snapshot(world_a.tenant)
                changed = [label for label in before if before[label] != after[label]]
                assert not changed, f"{where} changed tenant A's {changed}"
                posted += 1
                replaced_fields += replaced
            c.force_login(user)  # a form may have changed the user's own session
    # The pages with id-bearing forms: list bulk actions, transfer, share, pool assign, lead assign and convert,
    # follow-ups, tasks, appointments, orders, opportunities, rules, pools, users, teams, merge, imports.
    assert posted >= 40, posted
    assert replaced_fields >= posted
    assert not references_into(world_b.tenant, world_a.tenant)
