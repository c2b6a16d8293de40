"""Django's PostgreSQL backend with the tenant context installed on every connection (crm/tenancy.py).

The wrapper is installed when the connection object is made, first of all, so every statement of every thread
carries the context, and execute wrappers that tests or tools push and pop later stay inside it.
"""

from django.db.backends.postgresql import base

from crm.tenancy import with_tenant_context


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(with_tenant_context)
