"""PostgreSQL advisory-lock namespaces: the first key of every `pg_advisory_*lock(namespace, id)` the CRM takes,
named here so no two uses ever share one by accident."""

# One import job's commit (crm.imports) runs in one copy at a time (second key: the job's id).
IMPORT_JOB = 7301
# One check of an import job's mapping runs in one copy at a time (second key: hashtext of the check's token).
IMPORT_CHECK = 7302
