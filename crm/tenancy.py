"""The tenant context: whose rows the database shows the code running now.

Row-level security (crm/rls.py) admits a row of a tenant table only when its `tenant_id` equals the connection's
`app.tenant_id` setting; without that setting a tenant table has no rows. This module keeps the current tenant for
the request or task being served (a ContextVar, so one thread's request never sees another's) and sends it with
every statement: the database backend (crm/database/) runs each statement as

    SELECT set_config('app.tenant_id', '<id>', true); <the statement>

in one round trip. Several statements in one simple query are one transaction, even in autocommit, and
`set_config(..., true)` lasts only until that transaction ends: no setting outlives its statement's transaction, so
a pooled connection (PgBouncer in transaction mode) never carries one tenant's context into another's work, and a
statement sent with no context sees no tenant rows.

Who sets the context:
- a web request: the logged-in user's tenant (crm.middleware.TenantMiddleware); an operator in Django admin: the
  company they chose there;
- sign-up: the company being created (crm.services.tenant.tenant_create); the public lead form: the company named in its
  address;
- a Celery task: its `tenant_id` argument (`TenantTask`); dispatchers that only read the tenant list need none.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from celery import Task
from django.db.models import QuerySet

# The session key under which an operator's choice of company in Django admin is kept (crm.admin).
OPERATOR_TENANT_SESSION_KEY = "operator_tenant_id"

_current_tenant_id: ContextVar[int | None] = ContextVar("crm_tenant_id", default=None)


def current_tenant_id() -> int | None:
    return _current_tenant_id.get()


@contextmanager
def tenant_context(tenant_id: int | None) -> Iterator[None]:
    """Run the block with `tenant_id`'s rows visible (None: no tenant's rows). Contexts nest; leaving restores."""
    token = _current_tenant_id.set(None if tenant_id is None else int(tenant_id))
    try:
        yield
    finally:
        _current_tenant_id.reset(token)


def context_sql(tenant_id: int | None) -> str:
    """The statement that sets the context for the rest of the current transaction ('' means no tenant)."""
    value = "" if tenant_id is None else str(int(tenant_id))
    return f"SELECT set_config('app.tenant_id', '{value}', true); "


# Savepoints touch no rows, and rolling back to one must work in a transaction that an error has aborted, where
# any other statement (a set_config too) is refused.
_TRANSACTION_CONTROL = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")


def with_tenant_context(execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
    """Django execute wrapper: send the current context in the same round trip as the statement.

    Without a context, a statement in autocommit needs nothing (its transaction starts with no setting), but inside
    a transaction an earlier statement may have set one: it is cleared, so a context never outlives its block.
    """
    tenant_id = _current_tenant_id.get()
    if sql.startswith(_TRANSACTION_CONTROL) or (tenant_id is None and context["connection"].get_autocommit()):
        return execute(sql, params, many, context)
    return execute(context_sql(tenant_id) + sql, params, many, context)


def stream_in_context(chunks: Iterable, tenant_id: int) -> Iterator:
    """Iterate `chunks` in the tenant's context: a streaming response is read after its view (and the request's
    context) has returned. The context is set only while the next chunk is being made."""
    iterator = iter(chunks)
    while True:
        with tenant_context(tenant_id):
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk


def tenants_having(rows: Callable[[], QuerySet]) -> list[int]:
    """The active tenants for which `rows()` (a tenant model's queryset) finds anything, each asked in its own
    context and filtered to it (one EXISTS a tenant): how a dispatcher learns which tenants have work without
    reading across tenants."""
    from .models import Tenant  # not at the top: the database backend imports this module before models can load

    found = []
    for tenant_id in Tenant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True):
        with tenant_context(tenant_id):
            if rows().filter(tenant_id=tenant_id).exists():
                found.append(tenant_id)
    return found


class TenantTask(Task):
    """Base of every Celery task that works on one tenant's data: the run happens in the context of the task's
    `tenant_id` argument. A task of this base without that argument fails loudly rather than run with no context.
    Each run is recorded for the tenant's admins (Settings → Background jobs, crm/jobs/)."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            arguments = inspect.signature(self.run).bind_partial(*args, **kwargs).arguments
        except TypeError:
            arguments = {}
        if arguments.get("tenant_id") is None:
            raise TypeError(f"{self.name} runs for one tenant: call it with its tenant_id")
        # Not at the top: the database backend imports this module before models can load.
        from django.utils import timezone

        from crm.jobs.services import task_run_finished, task_run_started

        tenant_id = int(arguments["tenant_id"])
        with tenant_context(tenant_id):
            started_at = timezone.now()
            task_run_started(tenant_id=tenant_id, task=self.name, at=started_at)
            try:
                result = super().__call__(*args, **kwargs)
            except BaseException as error:
                task_run_finished(tenant_id=tenant_id, task=self.name, started_at=started_at, error=error)
                raise
            task_run_finished(tenant_id=tenant_id, task=self.name, started_at=started_at, result=result)
            return result
