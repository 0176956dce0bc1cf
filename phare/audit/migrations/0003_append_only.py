"""On PostgreSQL, the audit table refuses UPDATE and DELETE (TRUNCATE stays possible for
the owner only: test flushes need it, and `phare rls install` revokes it from the application role): events are append-only.

A data-protection officer who must purge (court order) sets `phare.audit_unlock = 'on'` in an owner session;
the application role can never do it (`phare rls install` also revokes UPDATE/DELETE from it).
"""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION phare_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF current_setting('phare.audit_unlock', true) = 'on' AND current_user <> 'phare_app' THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_append_only ON audit_auditevent;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION phare_audit_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS audit_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS phare_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_audithead")]
    operations = [migrations.RunPython(forwards, backwards)]
