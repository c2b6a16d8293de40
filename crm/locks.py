"""Every PostgreSQL advisory-lock id of the project, named, in one place.

Advisory locks are taken in the two-key form `pg_advisory_xact_lock(namespace, key)`: the namespace below says what
is locked, the key which one (a job id, a tenant id, a hash of a value). Two features never share a namespace, so a
new lock takes the next free number here.
"""

# One import job's commit (crm.imports) runs in one copy at a time (key: the job id).
IMPORT_JOB = 7301
# One check of an import job's mapping runs in one copy at a time (key: hashtext of the check's token).
IMPORT_CHECK = 7302

# Leads with the same phone, email or company are written one at a time (key: hashtext of tenant + value).
LEAD_IDENTIFIER = 7410
# A tenant's lead-scoring rules: recomputing holds it shared, editing a rule exclusively (key: the tenant id).
LEAD_SCORING_RULES = 7412

# One month of one owner's funnel figures in one pipeline is rewritten by one transaction at a time (key: hashtext of
# tenant, pipeline, owner and month; reports.services.funnel_facts).
FUNNEL_MONTH = 7801
# The same for one month of one owner's forecast sums in one pipeline (key: hashtext of tenant, pipeline, owner and
# month; reports.services.funnel_facts).
FORECAST_MONTH = 7802
