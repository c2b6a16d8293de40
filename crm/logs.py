"""Log lines that say whose work they belong to: the request (or task) id, the tenant and the user.

With `LOG_FORMAT=json` every line from the web and the worker is one JSON object (python-json-logger) carrying
`request_id`, `tenant_id` and `user_id`; with the default text format the same fields are available to the format
string. The request id comes from a trusted proxy's `X-Request-ID` when it is well formed, else a new one, and goes
back in the response's `X-Request-ID`; a Celery task's id is its request id. The tenant is the one whose rows the
code sees (crm/tenancy.py).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from crm.tenancy import current_tenant_id

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

_request_id: ContextVar[str | None] = ContextVar("crm_request_id", default=None)
_user_id: ContextVar[int | None] = ContextVar("crm_user_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def log_context(*, request_id: str | None) -> Iterator[None]:
    """Log lines written in the block carry `request_id` (and, once `log_user` is called, the user)."""
    request_token = _request_id.set(request_id)
    user_token = _user_id.set(None)
    try:
        yield
    finally:
        _user_id.reset(user_token)
        _request_id.reset(request_token)


def log_user(user_id: int | None) -> None:
    """Name the user for the rest of the current request's lines (set once authentication has run)."""
    _user_id.set(user_id)


class ContextFilter(logging.Filter):
    """Adds request_id, tenant_id and user_id to every record (None outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        record.tenant_id = current_tenant_id()
        record.user_id = _user_id.get()
        return True


def request_id_from(request: HttpRequest) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    """First in the chain: the request's id for every line logged while it is served, echoed in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request)
        request.request_id = request_id
        with log_context(request_id=request_id):
            response = self.get_response(request)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response


def task_started(task_id: str | None) -> None:
    """A Celery task's lines carry its id as their request id (connected to task_prerun in crm/celery.py)."""
    _request_id.set(task_id)
    _user_id.set(None)


def task_finished() -> None:
    _request_id.set(None)
