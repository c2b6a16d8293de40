"""The progress of a job, written outside the transaction that does the work."""

from __future__ import annotations

from django.db import connections

from crm.imports.models import ImportJob
from crm.tenancy import context_sql, current_tenant_id


class ProgressWriter:
    """Writes a job's progress on a database connection of its own, outside the import's transaction.

    A commit runs in one long transaction, so nothing it writes is visible until it commits; the progress bar must
    move meanwhile. We open a plain DB-API connection with the driver and the parameters of Django's default
    connection (`get_connection_params()`, so tests, which rename the database, reach the test database), in
    autocommit. It is not registered in `django.db.connections`: no alias added at run time, no global state shared
    between tasks or threads, none of the connection signals that expect a registered alias, and it is closed when
    the job ends. It only runs a one-row UPDATE of `processed_rows` (and `updated_at`, which tells the recovery
    sweep the job is alive), which never waits on the import: the work's transaction writes the job's row only in
    its very last statement. Being no Django connection, it sends the tenant context itself, in the same round trip
    (crm/tenancy.py).
    """

    def __init__(self, job_id: int, *, every: int = 1, token: str = ""):
        self.job_id = job_id
        # A check writes only while the job is still checking its mapping (a newer one supersedes it).
        self.token = token
        self.every = every
        self._last = 0
        self._conn = None

    def __call__(self, processed: int, *, force: bool = False) -> None:
        if not force and processed - self._last < self.every:
            return
        self._last = processed
        if self._conn is None:
            default = connections["default"]
            self._conn = default.Database.connect(**default.get_connection_params())
            self._conn.autocommit = True
        sql = f"UPDATE {ImportJob._meta.db_table} SET processed_rows = %s, updated_at = now() WHERE id = %s"  # noqa: S608 - the model's table
        params = [processed, self.job_id]
        if self.token:
            sql += " AND check_token = %s"
            params.append(self.token)
        with self._conn.cursor() as cursor:
            cursor.execute(context_sql(current_tenant_id()) + sql, params)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
