"""Imports: one machine for every kind of record a tenant brings in from a spreadsheet.

upload → map columns → preview (every row checked, with a reason per cell) → commit (one transaction) → the job
page with its progress bar and the rejected rows to fix and upload again. One job model (`models.ImportJob`), one
reader (`reader`), one set of services, views, templates and Celery tasks. What differs between kinds — their
columns, who may import, how a batch of rows is judged and created — is an `kind.ImportKind` that an app registers
from its `AppConfig.ready()` through the contribution registry (`crm.registry.registry.add_import_kind`).
"""
