"""The Content-Security-Policy header (django-csp): scripts and styles from our own origin only, no inline code and
no eval; htmx is told not to eval nor inject styles."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse


def directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["login", "signup"])
def test_every_response_carries_a_strict_policy(url_name):
    response = Client().get(reverse(url_name))
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_htmx_is_configured_not_to_eval(world_a, client_for):
    body = client_for(world_a.rep1).get(reverse("home")).content.decode()
    config = json.loads(re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', body).group(1))
    assert config["allowEval"] is False and config["includeIndicatorStyles"] is False


@pytest.mark.django_db
def test_the_pages_name_their_icon_among_the_static_files():
    # Without it every page load asks for /favicon.ico, a 404 logged as a warning each time.
    body = Client().get(reverse("login")).content.decode()
    href = re.search(r'<link rel="icon" href="([^"]+)"', body).group(1)
    assert href.endswith("favicon.svg") and finders.find("favicon.svg")
