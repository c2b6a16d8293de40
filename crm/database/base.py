"""Django's PostgreSQL backend with the tenant context installed on every connection (crm/tenancy.py), and the
files stored during a transaction (crm/files.py) deleted when it rolls back.

The wrapper is installed when the connection object is made, first of all, so every statement of every thread
carries the context, and execute wrappers that tests or tools push and pop later stay inside it.
"""

import logging

from django.db.backends.postgresql import base

from crm.tenancy import with_tenant_context

logger = logging.getLogger(__name__)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(with_tenant_context)
        # (the savepoints open when stored, storage, name) of the files stored in the open transaction.
        self.stored_files: list[tuple[tuple, object, str]] = []

    def stored_file_track(self, storage, name: str) -> None:
        """Delete the stored file `name` if the open transaction (or its current savepoint) rolls back."""
        if self.in_atomic_block:
            self.stored_files.append((tuple(self.savepoint_ids), storage, name))

    def _stored_files_delete(self, files) -> None:
        for _sids, storage, name in files:
            try:
                storage.delete(name)
            except Exception:  # noqa: BLE001 - a file that cannot be deleted must not hide the rollback's cause
                logger.warning("Could not delete %s after a rollback", name, exc_info=True)

    def commit(self):
        super().commit()
        self.stored_files = []

    def rollback(self):
        files, self.stored_files = self.stored_files, []
        super().rollback()
        self._stored_files_delete(files)

    def savepoint_rollback(self, sid):
        super().savepoint_rollback(sid)
        gone = [f for f in self.stored_files if sid in f[0]]
        self.stored_files = [f for f in self.stored_files if sid not in f[0]]
        self._stored_files_delete(gone)
