"""Every query parameter of every page without path arguments, fuzzed with odd input (extreme dates, NUL, very
long strings, wrong types, negative and huge page numbers): the answer is 200 or 400 (or a redirect or refusal),
never a 500. The parameters are found on the pages themselves (their GET forms and links), plus the common ones."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import build_world
from tests.security.test_url_sweep import all_patterns, plant_data

COMMON = ["q", "page", "sort", "date", "view", "status", "owner", "start", "end", "from", "to", "pipeline", "stage"]
ODD = [
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2024-02-30",
    "\x00",
    "a\x00b",
    "x" * 5000,
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "abc",
    "[]",
    "%",
    "２０２４",
    "' OR 1=1 --",
]
# Each parameter alone gets these (the nastiest); every parameter at once gets all of ODD.
ALONE = ["9999-12-31", "0001-01-01", "\x00", "x" * 5000, "-1", "99999999999999999999999"]
# Not pages: leaving, the public form's own tests, the health check, and pages whose GET starts work.
SKIPPED = {"logout", "healthz", "healthz_ready", "healthz_live", "signup", "set_language", "login", "password_reset"}


def list_pages() -> list[str]:
    return [name for name, args in all_patterns() if not args and name not in SKIPPED]


def parameters(body: str) -> set[str]:
    """The names a page's GET forms and links send."""
    names = set()
    for form in re.findall(r"<form\b(?![^>]*method=\"post\")[^>]*>(.*?)</form>", body, flags=re.S | re.I):
        names.update(re.findall(r"\bname=\"([^\"]+)\"", form))
    for href in re.findall(r"\bhref=\"(\?[^\"]*)\"", body):
        names.update(key for key, _value in parse_qsl(urlsplit(unescape(href)).query, keep_blank_values=True))
    names.discard("csrfmiddlewaretoken")
    return names


@pytest.fixture
def admin_client(db, django_capture_on_commit_callbacks, redis_test_db):
    world = build_world("FUZZ")
    with django_capture_on_commit_callbacks(execute=False):
        plant_data(world)
    client = Client(raise_request_exception=False)
    client.force_login(world.admin)
    return client


@pytest.mark.django_db
def test_no_query_parameter_makes_a_page_fail(admin_client):
    failures = []
    for name in list_pages():
        url = reverse(name)
        first = admin_client.get(url)
        if first.status_code != 200 or not first.get("Content-Type", "").startswith("text/html"):
            continue
        names = sorted(parameters(first.content.decode(errors="replace")) | set(COMMON))
        for value in ODD:
            # Every parameter at once, then each alone (one bad value must not hide behind another).
            tries = [dict.fromkeys(names, value)] + ([{n: value} for n in names] if value in ALONE else [])
            for params in tries:
                response = admin_client.get(url, params)
                if response.status_code >= 500:
                    failures.append(f"{url}?{sorted(params)[:3]}={value[:20]!r}: {response.status_code}")
                    break
    assert not failures, "\n".join(failures[:30])
