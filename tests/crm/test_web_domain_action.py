"""crm.web.domain_action: the end of a POST action that calls one service."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpResponse
from django.test import RequestFactory

from crm.errors import DomainError
from crm.web import domain_action


def _request():
    request = RequestFactory().post("/x/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def _said(request) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(request)]


def test_success_shows_the_message_and_goes_on():
    request = _request()
    response = domain_action(request, lambda: 3, success=lambda n: f"{n} done", then=lambda n: f"/done/{n}/")
    assert response.status_code == 302 and response["Location"] == "/done/3/"
    assert _said(request) == [("success", "3 done")]


def test_a_refusal_shows_its_message_and_goes_to_on_error():
    request = _request()

    def refuse():
        raise DomainError("Not now.")

    response = domain_action(request, refuse, success="never", then="/done/", on_error="/back/")
    assert response["Location"] == "/back/"
    assert _said(request) == [("error", "Not now.")]
    # Without on_error the refusal goes where success would; a response passes through as it is.
    request = _request()
    assert domain_action(request, refuse, then="/done/")["Location"] == "/done/"
    page = HttpResponse("page")
    assert domain_action(_request(), lambda: None, then=page) is page
    assert domain_action(_request(), refuse, then="/done/", on_error=lambda: page) is page
