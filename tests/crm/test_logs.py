"""Log lines name their request (or task), tenant and user; the request id goes back to the client."""

import json
import logging

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from pythonjsonlogger.json import JsonFormatter

from crm import logs
from crm.celery import app
from crm.middleware import TenantMiddleware

from ..conftest import build_world


class Lines(logging.Handler):
    """What a console handler configured like settings.LOGGING with LOG_FORMAT=json would write."""

    def __init__(self):
        super().__init__()
        self.addFilter(logs.ContextFilter())
        self.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s %(tenant_id)s %(user_id)s"))
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines():
    handler = Lines()
    logger = logging.getLogger("crm.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_a_request_line_names_the_request_the_tenant_and_the_user(lines):
    world = build_world("L")

    def view(request):
        logging.getLogger("crm.test").info("客户已保存")
        return HttpResponse("ok")

    request = RequestFactory().get("/customers/", HTTP_X_REQUEST_ID="lb-7f3a")
    request.user = world.rep1
    request.session = {}
    response = logs.RequestIdMiddleware(TenantMiddleware(view))(request)

    assert response["X-Request-ID"] == "lb-7f3a"
    assert lines == [
        {
            "levelname": "INFO",
            "name": "crm.test",
            "message": "客户已保存",
            "request_id": "lb-7f3a",
            "tenant_id": world.tenant.pk,
            "user_id": world.rep1.pk,
        }
    ]
    # Outside the request, nothing of it is left behind.
    logging.getLogger("crm.test").info("later")
    assert (lines[-1]["request_id"], lines[-1]["tenant_id"], lines[-1]["user_id"]) == (None, None, None)


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["", "x" * 65, "a b", "<script>", "id\nforged"])
def test_a_missing_or_malformed_request_id_is_replaced(client, given):
    headers = {"HTTP_X_REQUEST_ID": given} if given else {}
    response = client.get("/healthz/live", **headers)
    request_id = response["X-Request-ID"]
    assert request_id != given and len(request_id) == 32 and request_id.isalnum()


@app.task(name="tests.log_line")
def log_line():
    logging.getLogger("crm.test").info("任务在运行")


def test_a_task_line_carries_the_task_id(lines):
    result = log_line.apply(task_id="task-1234")
    assert result.successful()
    assert lines[0]["request_id"] == "task-1234" and lines[0]["user_id"] is None
    logging.getLogger("crm.test").info("after")
    assert lines[-1]["request_id"] is None
