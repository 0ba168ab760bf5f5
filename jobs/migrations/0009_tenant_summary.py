"""Each tenant's latest session results on one row (jobs.TenantSummary), kept by triggers on the session tables.

The home page judges every visible tenant (last backup result, age of the newest restore point); probing
400,000 sessions for a thousand tenants on every request cost 40-80 ms. These triggers keep the answer on a
row per tenant instead, recomputed in the same statement that inserts, deletes or ends a session - so in the
same transaction, whatever code path wrote it - by the very query the page used to run. Two sessions of a
tenant that end at once recompute one after the other: the summary row is locked first, and each statement
of a PL/pgSQL function sees what committed before it ran (READ COMMITTED). The summary has no foreign key
(a tenant's sessions are deleted before the tenant, and would re-create the row); the tenant's own delete
trigger removes it. Existing tenants are summed up once here.
"""

from django.db import migrations, models

FINISHED = "('success', 'warning', 'failed', 'cancelled', 'interrupted')"

REFRESH = f"""
CREATE FUNCTION jobs_tenantsummary_refresh(tenant_ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(tenant_ids) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO jobs_tenantsummary (tenant_id) SELECT DISTINCT unnest(tenant_ids) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM jobs_tenantsummary WHERE tenant_id = ANY(tenant_ids) ORDER BY tenant_id FOR UPDATE;
    UPDATE jobs_tenantsummary s
    SET last_backup_id = x.b_id, last_backup_status = x.b_status, newest_point_at = x.p_end,
        last_log_id = x.l_id, last_log_status = x.l_status
    FROM (SELECT t.id, b.id AS b_id, b.status AS b_status, p.ended_at AS p_end, l.id AS l_id, l.status AS l_status
          FROM unnest(tenant_ids) AS t(id)
          LEFT JOIN LATERAL (SELECT id, status FROM jobs_backupsession WHERE tenant_id = t.id
                             AND status IN {FINISHED} ORDER BY queued_at DESC, id DESC LIMIT 1) b ON true
          LEFT JOIN LATERAL (SELECT ended_at FROM jobs_backupsession WHERE tenant_id = t.id
                             AND restore_point_id IS NOT NULL ORDER BY queued_at DESC, id DESC LIMIT 1) p ON true
          LEFT JOIN LATERAL (SELECT id, status FROM jobs_logsession WHERE tenant_id = t.id
                             AND status IN {FINISHED} ORDER BY queued_at DESC, id DESC LIMIT 1) l ON true) x
    WHERE s.tenant_id = x.id;
END $$;

CREATE FUNCTION jobs_tenantsummary_tenant_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM jobs_tenantsummary WHERE tenant_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;
"""

CHANGED = """
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN  -- a queued session changes nothing yet
        PERFORM jobs_tenantsummary_refresh(ARRAY(
            SELECT DISTINCT tenant_id FROM new_rows WHERE status IN """ + FINISHED + """{point_inserted}));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM jobs_tenantsummary_refresh(ARRAY(SELECT DISTINCT tenant_id FROM old_rows));
    ELSE
        PERFORM jobs_tenantsummary_refresh(ARRAY[OLD.tenant_id, NEW.tenant_id]);
    END IF;
    RETURN NULL;
END $$;
"""

# Inserts and deletes once per statement (a job removed with ten thousand sessions refreshes its tenant once);
# updates per row, and only those that change what the summary says: heartbeats, progress and log lines (a
# running session's updates, several a second) name none of these columns and fire nothing.
TRIGGERS = """
CREATE TRIGGER jobs_tenantsummary_{table}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER jobs_tenantsummary_{table}_update AFTER UPDATE OF {columns} ON {table} FOR EACH ROW
    WHEN (({old}) IS DISTINCT FROM ({new})) EXECUTE FUNCTION {function}();
CREATE TRIGGER jobs_tenantsummary_{table}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""
BACKUP_COLUMNS = ("tenant_id", "status", "queued_at", "ended_at", "restore_point_id")
LOG_COLUMNS = BACKUP_COLUMNS[:-1]  # log sessions have no restore point


def _triggers(table: str, function: str, columns: tuple[str, ...]) -> str:
    return TRIGGERS.format(table=table, function=function, columns=", ".join(columns),
                           old=", ".join(f"OLD.{c}" for c in columns), new=", ".join(f"NEW.{c}" for c in columns))


FORWARD = (REFRESH
           + CHANGED.format(name="jobs_tenantsummary_sessions_changed", point_inserted=" OR restore_point_id IS NOT NULL")
           + CHANGED.format(name="jobs_tenantsummary_log_sessions_changed", point_inserted="")
           + _triggers("jobs_backupsession", "jobs_tenantsummary_sessions_changed", BACKUP_COLUMNS)
           + _triggers("jobs_logsession", "jobs_tenantsummary_log_sessions_changed", LOG_COLUMNS)
           + "CREATE TRIGGER jobs_tenantsummary_tenant_delete AFTER DELETE ON tenants_tenant REFERENCING OLD TABLE "
             "AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION jobs_tenantsummary_tenant_deleted();\n"
           + "SELECT jobs_tenantsummary_refresh(ARRAY(SELECT id FROM tenants_tenant));\n")

BACKWARD = """
DROP TRIGGER IF EXISTS jobs_tenantsummary_tenant_delete ON tenants_tenant;
""" + "".join(f"DROP TRIGGER IF EXISTS jobs_tenantsummary_{table}_{op} ON {table};\n"
              for table in ("jobs_backupsession", "jobs_logsession") for op in ("insert", "update", "delete")) + """
DROP FUNCTION IF EXISTS jobs_tenantsummary_sessions_changed();
DROP FUNCTION IF EXISTS jobs_tenantsummary_log_sessions_changed();
DROP FUNCTION IF EXISTS jobs_tenantsummary_tenant_deleted();
DROP FUNCTION IF EXISTS jobs_tenantsummary_refresh(bigint[]);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("jobs", "0008_session_indexes"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="TenantSummary",
            fields=[
                ("tenant", models.OneToOneField(db_constraint=False, on_delete=models.deletion.DO_NOTHING,
                                                primary_key=True, related_name="session_summary", serialize=False,
                                                to="tenants.tenant")),
                ("last_backup_id", models.BigIntegerField(help_text="The newest finished backup session", null=True)),
                ("last_backup_status", models.CharField(max_length=12, null=True)),
                ("newest_point_at", models.DateTimeField(help_text="When the newest restore point's session ended",
                                                         null=True)),
                ("last_log_id", models.BigIntegerField(help_text="The newest finished log session", null=True)),
                ("last_log_status", models.CharField(max_length=12, null=True)),
            ],
            options={"default_permissions": ()},
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
