from django.db import migrations, models

# The trail is append-only in the database itself: UPDATE and DELETE of a row, and TRUNCATE of the table,
# raise. TRUNCATE is let through only for a session that sets entrabackup.audittrail_truncate = 'allow'
# (the test settings do, so Django's test flush can empty the tables between tests). Anyone who can
# change a setting or drop the trigger owns the database; the hash chain then still shows what changed.
APPEND_ONLY = """
CREATE FUNCTION audittrail_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('entrabackup.audittrail_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'The audit trail is append-only: % of %s is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audittrail_entry_no_update_delete BEFORE UPDATE OR DELETE ON audittrail_entry
    FOR EACH ROW EXECUTE FUNCTION audittrail_refuse_change();
CREATE TRIGGER audittrail_entry_no_truncate BEFORE TRUNCATE ON audittrail_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audittrail_refuse_change();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS audittrail_entry_no_truncate ON audittrail_entry;
DROP TRIGGER IF EXISTS audittrail_entry_no_update_delete ON audittrail_entry;
DROP FUNCTION IF EXISTS audittrail_refuse_change();
"""


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="ChainHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("last_id", models.BigIntegerField(default=0)),
                ("last_hash", models.CharField(default="0000000000000000000000000000000000000000000000000000000000000000", max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name="Entry",
            fields=[
                ("id", models.BigIntegerField(editable=False, primary_key=True, serialize=False)),
                ("at", models.DateTimeField(db_index=True)),
                ("actor", models.CharField(choices=[("user", "User"), ("command", "Command"), ("system", "System")], max_length=10)),
                ("user_id", models.BigIntegerField(blank=True, null=True)),
                ("username", models.CharField(blank=True, max_length=150)),
                ("command", models.CharField(blank=True, help_text="The management command, for a command", max_length=100)),
                ("os_user", models.CharField(blank=True, max_length=100, verbose_name="OS user")),
                ("action", models.CharField(max_length=64)),
                ("target", models.CharField(blank=True, max_length=300)),
                ("tenant_id", models.BigIntegerField(blank=True, null=True)),
                ("tenant_name", models.CharField(blank=True, help_text="The tenant's name at the time", max_length=100)),
                ("result", models.CharField(default="ok", max_length=20)),
                ("detail", models.JSONField(blank=True, default=dict)),
                ("ip", models.CharField(blank=True, max_length=45, verbose_name="client address")),
                ("user_agent", models.CharField(blank=True, max_length=300)),
                ("host", models.CharField(blank=True, help_text="The host a command or a proxy ran on", max_length=200)),
                ("prev_hash", models.CharField(max_length=64)),
                ("hash", models.CharField(max_length=64, unique=True)),
            ],
            options={
                "verbose_name": "audit trail entry",
                "verbose_name_plural": "audit trail",
                "ordering": ["-id"],
                "indexes": [
                    models.Index(fields=["action", "id"], name="audittrail_action_id"),
                    models.Index(fields=["user_id", "id"], name="audittrail_user_id"),
                    models.Index(fields=["username", "id"], name="audittrail_username_id"),
                    models.Index(fields=["tenant_id", "id"], name="audittrail_tenant_id"),
                    models.Index(fields=["result", "id"], name="audittrail_result_id"),
                ],
            },
        ),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
