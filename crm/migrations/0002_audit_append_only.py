from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION crm_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'crm_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER crm_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON crm_auditevent
    FOR EACH ROW EXECUTE FUNCTION crm_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS crm_auditevent_no_update_delete ON crm_auditevent;
DROP FUNCTION IF EXISTS crm_auditevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [
        # Trigram search on names (DESIGN.md §8) is used by the customers and leads lists.
        TrigramExtension(),
        migrations.RunSQL(APPEND_ONLY, DROP),
    ]
