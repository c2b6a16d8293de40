"""One client-IP resolver for the whole app (crm.access.client_ip, django-ipware): behind TRUSTED_PROXIES reverse
proxies the address is the one the first trusted proxy saw, whatever the client wrote into X-Forwarded-For, and
django-axes and every rate limit key on it."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from crm.access import client_ip
from crm.antirobot import issue_token
from sales.models import Lead
from sales.services.web_form import web_form_save

PROXY = "10.9.9.9"


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, {"REMOTE_ADDR": "198.51.100.1"}, "198.51.100.1"),
        # No proxy trusted: a client's own X-Forwarded-For is ignored.
        (0, {"REMOTE_ADDR": "198.51.100.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, "198.51.100.1"),
        # One proxy: it appended the address it saw, the right-most entry; what the client wrote before is ignored.
        (1, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, "203.0.113.9"),
        (1, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.9"}, "203.0.113.9"),
        (1, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "junk, 203.0.113.9"}, "203.0.113.9"),
        # Two proxies: the second one's entry is the first proxy's address.
        (2, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.9, 10.8.8.8"}, "203.0.113.9"),
        # A proxy is expected but the header is missing or short: the socket's address, never a guess.
        (1, {"REMOTE_ADDR": PROXY}, PROXY),
        (2, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}, PROXY),
    ],
)
def test_client_ip(settings, proxies, meta, expected):
    settings.TRUSTED_PROXIES = proxies
    assert client_ip(RequestFactory().get("/", **meta)) == expected


def login(username, password, forwarded):
    return Client().post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
def test_behind_a_proxy_lockout_cannot_be_turned_against_a_user(world_a, settings):
    settings.TRUSTED_PROXIES = 1
    settings.AXES_FAILURE_LIMIT = 3
    victim, attacker = "203.0.113.50", "198.51.100.66"
    for _ in range(3):
        # The attacker writes the victim's address into the header; the proxy appends the attacker's own.
        login("rep1@a.test", "wrong", f"{victim}, {attacker}")
    assert login("rep1@a.test", "pw-123456", f"{victim}, {attacker}").status_code == 429
    # The victim, behind the same proxy, is not locked out.
    assert login("rep1@a.test", "pw-123456", victim).status_code == 302


@pytest.mark.django_db
@pytest.mark.usefixtures("redis_test_db")
def test_behind_a_proxy_the_web_form_limit_cannot_be_dodged(world_a, settings):
    settings.TRUSTED_PROXIES = 1
    settings.LEAD_FORM_RATE = "3/10m"
    web_form_save(
        acting_user=world_a.admin,
        is_enabled=True,
        title="T",
        intro="",
        thank_you="thanks",
        fields=["name", "phone"],
        required_fields=["name"],
        owner=None,
    )
    url = reverse("sales:public_lead_form", args=[world_a.tenant.slug])
    token = issue_token(world_a.tenant.pk, timezone.now().timestamp() - 10)
    statuses = [
        Client()
        .post(
            url,
            {"name": f"访客{i}", "phone": f"1365555100{i}", "ts": token},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 198.51.100.77",  # a new first entry every time
        )
        .status_code
        for i in range(5)
    ]
    assert statuses == [302, 302, 302, 429, 429]
    assert Lead.objects.count() == 3
