"""Serving requests and running tasks as the app role, in tests (see tests/conftest.py).

`enter()` marks the current thread's connection as serving and switches it to the app role (SET ROLE): at once if it
is open, else as soon as it opens (the live server and the worker close their connections between requests and
tasks). `leave()` switches it back to the owner. Both use the driver's own cursor, so the switch is not counted by
`django_assert_num_queries` and carries no tenant context of its own.
"""

from __future__ import annotations

from contextlib import contextmanager

from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import connection
from django.db.backends.signals import connection_created
from psycopg2 import sql

APP_ROLE = settings.DATABASE_APP["USER"]


def _set_role(conn, app: bool) -> None:
    if conn.connection is None:
        return
    with conn.connection.cursor() as cursor:
        cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(APP_ROLE)) if app else "RESET ROLE")


def enter(**kwargs) -> None:
    connection.serving_as_app_role = True
    _set_role(connection, app=True)


def leave(**kwargs) -> None:
    if getattr(connection, "serving_as_app_role", False):
        connection.serving_as_app_role = False
        _set_role(connection, app=False)


def _on_connect(sender, connection, **kwargs) -> None:
    if getattr(connection, "serving_as_app_role", False):
        _set_role(connection, app=True)


def install() -> None:
    request_started.connect(enter, dispatch_uid="tests.app_role.enter")
    request_finished.connect(leave, dispatch_uid="tests.app_role.leave")
    task_prerun.connect(enter, dispatch_uid="tests.app_role.task_enter", weak=False)
    task_postrun.connect(leave, dispatch_uid="tests.app_role.task_leave", weak=False)
    connection_created.connect(_on_connect, dispatch_uid="tests.app_role.connect")


@contextmanager
def serving():
    """Run the block as the app role, the way a request or a task is served (tests of the wall itself)."""
    enter()
    try:
        yield
    finally:
        leave()
