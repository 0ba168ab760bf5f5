"""The searchable index of stored log records: key fields in the configuration database, partitioned by day.

Why the configuration database and not the tenant's Entra ID backup repository: the index describes the
log repositories (its rows point at their chunks), which are independent of where directory backups go
(a tenant may back up its directory to a remote PostgreSQL and its logs to S3); the log explorer searches
it through the same connection as every other page; and one table partitioned by day makes retention a
DROP of whole partitions instead of row deletes. See docs/log-backup.md.

The table is created by migration jobs/0004 (raw SQL: Django has no partitioned tables). A day's partition
is created on first use; rows are keyed by (time, tenant, log type, record id), so indexing a chunk again
(after a crash or a lost cache) changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connection, transaction

from jobs.logbackup.types import LogType, index_fields, record_time

TABLE = "jobs_logrecord"
CREATE = f"""
CREATE TABLE {TABLE} (
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
    target_ids text[] NOT NULL DEFAULT '{{}}',
    target_names text[] NOT NULL DEFAULT '{{}}',
    correlation_id text NOT NULL DEFAULT '',
    ip_address text NOT NULL DEFAULT '',
    application text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT '',
    repository text NOT NULL,
    chunk text NOT NULL,
    line integer NOT NULL,
    PRIMARY KEY (at, tenant_id, log_type, record_id)
) PARTITION BY RANGE (at);
CREATE INDEX {TABLE}_user_upn ON {TABLE} (tenant_id, lower(user_upn), at);
CREATE INDEX {TABLE}_user_id ON {TABLE} (tenant_id, user_id, at);
CREATE INDEX {TABLE}_tenant_at ON {TABLE} (tenant_id, at);
CREATE INDEX {TABLE}_correlation ON {TABLE} (tenant_id, correlation_id);
"""
COPY_TYPES = ["timestamptz", "int8", *["text"] * 9, "text[]", "text[]", *["text"] * 6, "int4"]
STAGE = f"{TABLE}_stage"  # a temporary table of the session (index_chunk)
DROP = f"DROP TABLE IF EXISTS {TABLE} CASCADE;"
COLUMNS = ["at", "tenant_id", "log_type", "record_id", "category", "activity", "result", "user_id", "user_upn",
           "app_id", "app_name", "target_ids", "target_names", "correlation_id", "ip_address", "application",
           "status", "repository", "chunk", "line"]


def search_sql(tenant_id: int, start, end, *, user=None, activity=None, category=None, result=None, target=None,
               ip=None, correlation_id=None, page: int = 1, per_page: int = 50) -> tuple[str, list]:
    """The query of one page of the log explorer (newest first; one row more than a page tells if more follow)."""
    where, args = ["tenant_id = %s", "at >= %s", "at <= %s"], [tenant_id, start, end]
    if user:
        where.append("(lower(user_upn) = lower(%s) OR user_id = %s)")
        args += [user, user]
    for column, value in (("activity", activity), ("category", category), ("result", result), ("ip_address", ip),
                          ("correlation_id", correlation_id)):
        if value:
            where.append(f"{column} = %s")
            args.append(value)
    if target:
        where.append("(%s = ANY(target_ids) OR %s = ANY(target_names))")
        args += [target, target]
    sql = (f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE {' AND '.join(where)} "  # noqa: S608 - constants only
           "ORDER BY at DESC, record_id LIMIT %s OFFSET %s")
    return sql, [*args, per_page + 1, (page - 1) * per_page]


def partition_name(day: date) -> str:
    return f"{TABLE}_{day:%Y%m%d}"


def partition_ensure(day: date) -> None:
    """Create the day's partition when missing (an advisory lock keeps two sessions from racing on it)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF {TABLE} "
                       f"FOR VALUES FROM (%s) TO (%s)", [day.isoformat(), (day + timedelta(days=1)).isoformat()])


@transaction.atomic
def index_chunk(*, tenant_id: int, log_type: LogType, repository: str, chunk: str, records: list[dict]) -> int:
    """Index a stored chunk's records (line = the record's place in the chunk); returns the rows added."""
    rows = []
    for line, record in enumerate(records):
        fields = index_fields(log_type, record)
        rows.append([record_time(log_type, record), tenant_id, log_type.key, record["id"],
                     *[fields[c] for c in COLUMNS[4:17]], repository, chunk, line])
    for day in sorted({row[0].date() for row in rows}):
        partition_ensure(day)
    added = 0
    with connection.cursor() as cursor:
        # COPY into a session-local staging table, then one INSERT ... SELECT: far faster than row-by-row
        # parameters. The staging table is emptied first, so a call nested in an outer transaction (where
        # ON COMMIT has not run yet) never sees another call's rows.
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (LIKE {TABLE}) ON COMMIT DELETE ROWS")
        cursor.execute(f"TRUNCATE {STAGE}")
        with cursor.cursor.copy(f"COPY {STAGE} ({','.join(COLUMNS)}) FROM STDIN") as copy:
            copy.set_types(COPY_TYPES)  # declared once: psycopg no longer inspects every value (lists above all)
            for row in rows:
                copy.write_row(row)
        # Identifiers are this module's constants; every value came through COPY.
        cursor.execute(f"INSERT INTO {TABLE} ({','.join(COLUMNS)}) SELECT {','.join(COLUMNS)} FROM {STAGE} "  # noqa: S608
                       "ON CONFLICT DO NOTHING")
        added = cursor.rowcount
    return added


def partitions() -> list[date]:
    """The days that have a partition, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s", [TABLE])
        names = [r[0] for r in cursor.fetchall()]
    return sorted(datetime.strptime(n.rsplit("_", 1)[1], "%Y%m%d").date() for n in names)


@transaction.atomic
def index_prune(*, tenant_id: int, repository: str, before: date) -> list[date]:
    """Forget the tenant's rows of that repository before `before`, then drop every partition of a day before
    it that no tenant uses any more. Returns the days dropped."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE tenant_id = %s AND repository = %s AND at < %s",  # noqa: S608
                       [tenant_id, repository, before.isoformat()])
        dropped = []
        for day in partitions():
            if day >= before:
                break
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {partition_name(day)})")  # noqa: S608 - a date's name
            if not cursor.fetchone()[0]:
                cursor.execute(f"DROP TABLE {partition_name(day)}")
                dropped.append(day)
    return dropped
