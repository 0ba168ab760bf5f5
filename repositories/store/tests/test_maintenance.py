"""Retention, purge, sizes and health checks."""

from datetime import UTC, timedelta

import pytest

from repositories.store import (
    RepositoryStore,
    StoreAccessError,
    StoreError,
    StoreNotFoundError,
    StoreUnavailableError,
    TenantLockedError,
)

from .helpers import closed_port, row_count, user, users

T = "contoso"


def day(store, n: int, objects: list[dict], pairs: list[tuple]) -> int:
    with store.session(T, f"day-{n}", "full") as w:
        w.put_full("user", objects)
        w.put_relations_full("group_member", pairs, None)
        return w.commit()


def snapshot(store, r: int):
    objects = [(o.object_id, o.data) for o in store.objects(T, r, limit=1000)]
    return objects, [(x.source_id, x.target_id) for x in store.relations(T, r)]


def history_of_six_days(store) -> list[int]:
    """User 0 changes every day, user 1 is deleted on day 2, user 9 appears on day 4; memberships churn."""
    points = []
    for n in range(6):
        objects = [user(0, jobTitle=f"title {n}")] + users(8, start=2)
        if n < 2:
            objects.append(user(1))
        if n >= 4:
            objects.append(user(9))
        points.append(day(store, n, objects, [("g1", f"u{n}", "user"), ("g1", "u-all", "user")]))
    return points


def test_prune_by_count_keeps_what_remaining_points_see(store, conninfo):
    points = history_of_six_days(store)
    kept = points[-3:]
    before = {r: snapshot(store, r) for r in kept}
    result = store.prune(T, keep_restore_points=3)
    assert result["expired"] == sorted(points[:3], reverse=True)
    assert [p.id for p in store.restore_points(T)] == kept[::-1]
    assert {r: snapshot(store, r) for r in kept} == before
    # user 0's versions of days 0-2 and user 1 (deleted before the oldest kept point) are gone
    assert [v.valid_from for v in store.object_history(T, "user", "u-0000")] == kept
    assert store.object_history(T, "user", "u-0001") == []
    assert row_count(conninfo, "relation_version", f"valid_to <= {kept[0]}") == 0
    with pytest.raises(StoreError):
        store.objects(T, points[0])
    assert store.prune(T, keep_restore_points=3)["restore_points"] == 0


def test_prune_by_days_never_expires_the_newest(store):
    points = history_of_six_days(store)
    latest = store.latest_restore_point(T)
    later = latest.committed_at + timedelta(days=40)
    before = snapshot(store, points[-1])
    result = store.prune(T, keep_days=30, now=later)
    assert result["restore_points"] == 5
    assert [p.id for p in store.restore_points(T)] == [points[-1]]
    assert snapshot(store, points[-1]) == before
    naive_utc_now = latest.committed_at.astimezone(UTC).replace(tzinfo=None)
    assert store.prune(T, keep_days=30, now=naive_utc_now)["restore_points"] == 0


def test_prune_keeps_the_last_state_of_an_object_deleted_in_a_kept_point(store):
    points = history_of_six_days(store)  # user 1 is deleted at points[2]
    store.prune(T, keep_restore_points=4)
    tombstone = store.get_object(T, points[2], "user", "u-0001")
    assert tombstone.deleted == "missing" and tombstone.data["displayName"] == "User 1"


def test_tenant_purge_leaves_no_row(store, conninfo):
    history_of_six_days(store)
    with store.session(T, "s", "incremental") as w:
        w.set_sync_state("delta:user", "x")
        w.commit()
    store.tenant_ensure("fabrikam", "d2", "Fabrikam")
    counts = store.tenant_purge(T)
    assert counts["restore_point"] == 7 and counts["tenant"] == 1
    for table in ("object_version", "relation_version", "restore_point", "sync_state"):
        assert row_count(conninfo, table) == 0
    assert row_count(conninfo, "tenant") == 1
    assert store.restore_points(T) == []
    with pytest.raises(StoreNotFoundError, match="Unknown tenant"):
        store.objects(T, 1)


def test_sizes_and_check_report_the_repository(store):
    history_of_six_days(store)
    info = store.check()
    assert info["server_version"].startswith("18")
    assert info["schema_version"] == info["latest_schema"] and info["can_write"] is True
    assert info["database_size_bytes"] > 0
    assert 0 < store.tenant_size_bytes(T) <= store.size_bytes()


def test_check_explains_a_missing_database(pg_server):
    conninfo = pg_server.conninfo("no_such_db") + " password=hunter2"
    with pytest.raises(StoreAccessError) as caught:
        RepositoryStore(conninfo).check()
    assert 'database "no_such_db"' in str(caught.value) and "does not exist" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_check_explains_an_unreachable_server(tmp_path):
    conninfo = f"host={tmp_path} port=5999 dbname=x user=u password=hunter2"
    with pytest.raises(StoreUnavailableError, match="unreachable") as caught:
        RepositoryStore(conninfo, connect_timeout=2).check()
    assert "hunter2" not in str(caught.value)


def test_check_reports_a_read_only_role_and_explains_refused_connections(store, conninfo, pg_server):
    import psycopg

    dbname = psycopg.conninfo.conninfo_to_dict(conninfo)["dbname"]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS store_reader")
        conn.execute("CREATE ROLE store_reader LOGIN")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO store_reader")
    reader = psycopg.conninfo.make_conninfo(conninfo, user="store_reader")
    with RepositoryStore(reader) as repo:
        assert repo.check()["can_write"] is False
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'REVOKE CONNECT ON DATABASE "{dbname}" FROM PUBLIC')
    with pytest.raises(StoreAccessError, match="permission denied"):
        RepositoryStore(reader).check()


def test_a_tcp_port_with_nothing_listening_is_unavailable():
    port = closed_port()
    conninfo = f"host=127.0.0.1 port={port} dbname=x user=u password=hunter2 sslmode=disable"
    with pytest.raises(StoreUnavailableError, match="connection refused") as caught:
        RepositoryStore(conninfo, connect_timeout=2).restore_points(T)
    assert "hunter2" not in str(caught.value) and f"127.0.0.1:{port}" in str(caught.value)


def test_a_connection_lost_mid_session_is_unavailable_and_keeps_nothing(store, conninfo):
    import psycopg

    with pytest.raises(StoreUnavailableError, match="connection"):
        with store.session(T, "s1", "full") as w:
            w.put_full("user", users(3))
            with psycopg.connect(conninfo, autocommit=True) as admin:  # the server drops the writer's connection
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                              " AND pid <> pg_backend_pid()")
            w.put_full("group", [{"id": "g-1", "displayName": "G"}])
    assert store.restore_points(T) == []
    with store.session(T, "s2", "full") as w:  # the lock went with the connection; the next session cleans up
        w.commit()
    assert row_count(conninfo, "restore_point", "state = 'staging'") == 0


def test_a_busy_tenant_is_a_typed_error_and_cleanup_leaves_it_alone(store):
    with store.session(T, "s1", "full"):
        with pytest.raises(TenantLockedError):
            store.prune(T, keep_restore_points=1)
        assert store.cleanup(T) == 0
