"""The log record index keyed per chunk (jobs/logbackup/index.py, docs/log-backup.md): a marker row per indexed
chunk in jobs_logchunk makes a chunk's rows atomic and indexing exactly once, so the per-record primary key
goes; rows point at their chunk by id instead of repeating repository, chunk path and log type; BRIN on time and
one user btree replace the primary key and four btrees.

Existing rows are migrated, not dropped: the engine re-indexes only chunks near the watermark, so dropped rows
of older chunks would vanish from the log explorer for good. Going back recreates the 0004 table empty.
Everything below is frozen SQL: this migration imports nothing that changes later.
"""

from django.db import migrations

# Frozen copy of jobs.logbackup.index.CREATE as of this migration.
CREATE = """
CREATE TABLE jobs_logchunk (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repository text NOT NULL,
    chunk text NOT NULL,
    tenant_id bigint NOT NULL,
    log_type text NOT NULL,
    day date NOT NULL,
    records integer NOT NULL,
    indexed_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (repository, chunk)
);
CREATE INDEX jobs_logchunk_tenant_day ON jobs_logchunk (tenant_id, repository, day);
CREATE TABLE jobs_loguser (
    tenant_id bigint NOT NULL,
    user_id text NOT NULL,
    user_key text NOT NULL,
    PRIMARY KEY (tenant_id, user_id, user_key)
);
CREATE TABLE jobs_logrecord (
    at timestamptz NOT NULL,
    tenant_id bigint NOT NULL,
    chunk_id bigint NOT NULL,
    line integer NOT NULL,
    log_type smallint NOT NULL,
    user_key text NOT NULL,
    record_id text NOT NULL,
    category text NOT NULL,
    activity text NOT NULL,
    result text NOT NULL,
    user_id text NOT NULL,
    user_upn text NOT NULL,
    app_id text NOT NULL,
    app_name text NOT NULL,
    target_ids text[] NOT NULL,
    target_names text[] NOT NULL,
    correlation_id text NOT NULL,
    ip_address text NOT NULL,
    application text NOT NULL,
    status text NOT NULL
) PARTITION BY RANGE (at);
CREATE INDEX jobs_logrecord_at ON jobs_logrecord USING brin (at);
CREATE INDEX jobs_logrecord_user ON jobs_logrecord (tenant_id, user_key, at);
"""

# The 0004 table and its day partitions step aside, the new ones are created, the rows move over, the old go.
FORWARD = """
ALTER TABLE jobs_logrecord RENAME TO jobs_logrecord_0004;
DO $$
DECLARE part text;
BEGIN
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'jobs_logrecord_0004' LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', part, part || '_0004');
    END LOOP;
END $$;
""" + CREATE + """
DO $$
DECLARE d date;
BEGIN
    FOR d IN SELECT DISTINCT (at AT TIME ZONE 'UTC')::date FROM jobs_logrecord_0004 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF jobs_logrecord FOR VALUES FROM (%L) TO (%L)',
                       'jobs_logrecord_' || to_char(d, 'YYYYMMDD'), d || ' 00:00+00', (d + 1) || ' 00:00+00');
    END LOOP;
END $$;
INSERT INTO jobs_logchunk (repository, chunk, tenant_id, log_type, day, records)
    SELECT repository, chunk, min(tenant_id), min(log_type), min((at AT TIME ZONE 'UTC')::date), count(*)
    FROM jobs_logrecord_0004 GROUP BY repository, chunk;
INSERT INTO jobs_logrecord (at, tenant_id, chunk_id, line, log_type, user_key, record_id, category, activity,
                            result, user_id, user_upn, app_id, app_name, target_ids, target_names, correlation_id,
                            ip_address, application, status)
    SELECT o.at, o.tenant_id, c.id, o.line,
           CASE o.log_type WHEN 'audit' THEN 1 WHEN 'signin' THEN 2 WHEN 'signin-noninteractive' THEN 3
                           WHEN 'signin-serviceprincipal' THEN 4 WHEN 'signin-managedidentity' THEN 5 END,
           lower(coalesce(nullif(o.user_upn, ''), o.user_id)), o.record_id, o.category, o.activity, o.result,
           o.user_id, o.user_upn, o.app_id, o.app_name, o.target_ids, o.target_names, o.correlation_id,
           o.ip_address, o.application, o.status
    FROM jobs_logrecord_0004 o JOIN jobs_logchunk c ON c.repository = o.repository AND c.chunk = o.chunk;
INSERT INTO jobs_loguser (tenant_id, user_id, user_key)
    SELECT DISTINCT tenant_id, user_id, lower(user_upn) FROM jobs_logrecord_0004
    WHERE user_id <> '' AND user_upn <> '';
DROP TABLE jobs_logrecord_0004 CASCADE;
"""

# Frozen copy of the 0004 table (jobs/0004), empty.
BACKWARD = """
DROP TABLE IF EXISTS jobs_logrecord, jobs_logchunk, jobs_loguser CASCADE;
CREATE TABLE jobs_logrecord (
    at timestamptz NOT NULL,
    tenant_id bigint NOT NULL,
    log_type text NOT NULL,
    record_id text NOT NULL,
    category text NOT NULL DEFAULT '',
    activity text NOT NULL DEFAULT '',
    result text NOT NULL DEFAULT '',
    user_id text NOT NULL DEFAULT '',
    user_upn text NOT NULL DEFAULT '',
    app_id text NOT NULL DEFAULT '',
    app_name text NOT NULL DEFAULT '',
    target_ids text[] NOT NULL DEFAULT '{}',
    target_names text[] NOT NULL DEFAULT '{}',
    correlation_id text NOT NULL DEFAULT '',
    ip_address text NOT NULL DEFAULT '',
    application text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT '',
    repository text NOT NULL,
    chunk text NOT NULL,
    line integer NOT NULL,
    PRIMARY KEY (at, tenant_id, log_type, record_id)
) PARTITION BY RANGE (at);
CREATE INDEX jobs_logrecord_user_upn ON jobs_logrecord (tenant_id, lower(user_upn), at);
CREATE INDEX jobs_logrecord_user_id ON jobs_logrecord (tenant_id, user_id, at);
CREATE INDEX jobs_logrecord_tenant_at ON jobs_logrecord (tenant_id, at);
CREATE INDEX jobs_logrecord_correlation ON jobs_logrecord (tenant_id, correlation_id);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("jobs", "0004_log_jobs"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
