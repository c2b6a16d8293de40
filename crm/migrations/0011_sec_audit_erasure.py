from django.db import migrations

# The audit trail stays append-only, with one exception: erasing a person's data on their request (个人信息保护法)
# may rewrite the object description and the details of the rows that hold that data, inside a transaction that set
# app.audit_erasure (customers.services.privacy). Nothing else of a row may change, and no row may be deleted.
ERASABLE = """
CREATE OR REPLACE FUNCTION crm_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('app.audit_erasure', true) = 'on'
       AND NEW.id = OLD.id
       AND NEW.tenant_id IS NOT DISTINCT FROM OLD.tenant_id
       AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
       AND NEW.action = OLD.action
       AND NEW.object_type = OLD.object_type
       AND NEW.object_id = OLD.object_id
       AND NEW.at = OLD.at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'crm_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION crm_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'crm_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("crm", "0010_outboundmessage_headers")]

    operations = [migrations.RunSQL(ERASABLE, APPEND_ONLY)]
