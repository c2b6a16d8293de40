"""PostgreSQL advisory-lock namespaces: the first key of every `pg_advisory_*lock(namespace, id)` the CRM takes,
named here so no two uses ever share one by accident."""

# One import job (crm.imports): its check or its commit runs in one copy at a time.
IMPORT_JOB = 7301
