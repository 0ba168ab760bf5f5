"""Write path and as-of reads of objects."""

import psycopg
import pytest

from repositories.store import RepositoryStore, SchemaError, StoreError, StoreNotFoundError, TenantLockedError
from repositories.store.canonical import content_hash
from repositories.store.schema import LATEST

from .helpers import ids, row_count, user, users

T = "contoso"


def full_backup(store, session_key, objects, object_type="user", **kwargs):
    with store.session(T, session_key, "full") as w:
        counts = w.put_full(object_type, objects)
        r = w.commit(**kwargs)
    return r, counts


def test_migrate_is_idempotent_and_records_versions(conninfo):
    with RepositoryStore(conninfo) as repo:
        assert repo.schema_version() == 0
        assert repo.migrate() == list(range(1, LATEST + 1))
        assert repo.migrate() == []
        assert repo.schema_version() == LATEST
        assert row_count(conninfo, "schema_migrations") == LATEST


def test_an_older_repository_is_refused_until_migrated(conninfo):
    with RepositoryStore(conninfo) as repo:
        repo.migrate()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = %s", [LATEST])
    with RepositoryStore(conninfo) as repo:
        with pytest.raises(SchemaError, match=f"version {LATEST - 1}, this code needs {LATEST}"):
            repo.tenant_ensure("x", "d", "X")
        assert repo.migrate() == [LATEST]
        assert repo.tenant_ensure("x", "d", "X") > 0


def test_reads_refuse_an_unmigrated_repository(conninfo):
    with RepositoryStore(conninfo) as repo, pytest.raises(StoreError, match="run migrate"):
        repo.tenant_ensure("x", "d", "X")


def test_unchanged_full_read_writes_no_rows_and_both_points_see_the_objects(store, conninfo):
    r1, c1 = full_backup(store, "s1", users(50))
    assert (c1.new, c1.unchanged) == (50, 0)
    rows_after_first = row_count(conninfo, "object_version")
    r2, c2 = full_backup(store, "s2", users(50))
    assert (c2.read, c2.new, c2.changed, c2.unchanged, c2.deleted) == (50, 0, 0, 50, 0)
    assert row_count(conninfo, "object_version") == rows_after_first == 50
    assert r2 > r1
    assert ids(store.objects(T, r1, limit=500)) == ids(store.objects(T, r2, limit=500))
    assert store.count_objects(T, r2, "user") == 50
    assert store.type_counts(T, r2) == {"user": 50}


def test_changed_property_writes_one_version_and_history_names_it(store, conninfo):
    r1, _ = full_backup(store, "s1", users(5))
    r2, counts = full_backup(store, "s2", users(4) + [user(4, jobTitle="Architect", department="R&D")])
    assert (counts.changed, counts.unchanged) == (1, 4)
    assert row_count(conninfo, "object_version") == 6
    assert store.get_object(T, r1, "user", "u-0004").data["jobTitle"] == "Engineer"
    assert store.get_object(T, r2, "user", "u-0004").data["jobTitle"] == "Architect"
    history = store.object_history(T, "user", "u-0004")
    assert [(v.valid_from, v.valid_to) for v in history] == [(r1, r2), (r2, None)]
    assert history[1].changed_properties == ["department", "jobTitle"]
    assert store.changes(T, r2)["user"].changed == 1


def test_superseded_versions_are_kept_compressed_and_read_back_exactly(store, conninfo):
    r1, _ = full_backup(store, "s1", users(3))
    r2, _ = full_backup(store, "s2", users(2) + [user(2, jobTitle="Architect")])
    r3, _ = full_backup(store, "s3", users(2))  # u-0002 deleted: its last version is closed too
    closed = "object_id = 'u-0002' AND valid_to IS NOT NULL"
    assert row_count(conninfo, "object_version", f"{closed} AND data IS NULL AND data_z IS NOT NULL") == 2
    assert row_count(conninfo, "object_version", "valid_to IS NULL AND deleted IS NULL AND data_z IS NOT NULL") == 0
    assert store.get_object(T, r1, "user", "u-0002").data == user(2)
    assert store.get_object(T, r2, "user", "u-0002").data == user(2, jobTitle="Architect")
    history = store.object_history(T, "user", "u-0002")
    assert [v.data["jobTitle"] if v.data else None for v in history] == ["Engineer", "Architect", None]
    gone = store.get_object(T, r3, "user", "u-0002")  # a tombstone shows the last state before the deletion
    assert gone.deleted == "missing" and gone.data == user(2, jobTitle="Architect")


def test_volatile_only_change_writes_no_version(store, conninfo):
    full_backup(store, "s1", users(3))
    moved = [user(n, signInActivity={"lastSignInDateTime": "2026-02-02T00:00:00Z"},
                  signInSessionsValidFromDateTime="2026-02-02T00:00:00Z") for n in range(3)]
    _, counts = full_backup(store, "s2", moved)
    assert counts.unchanged == 3
    assert row_count(conninfo, "object_version") == 3


def test_null_and_missing_properties_hash_the_same():
    with_nulls = {"id": "1", "displayName": "A", "mobilePhone": None, "@odata.etag": "W/1"}
    sparse = {"displayName": "A", "id": "1", "@odata.context": "https://graph/$metadata"}
    assert content_hash(with_nulls, "user") == content_hash(sparse, "user")
    assert content_hash({"id": "1", "@odata.type": "#microsoft.graph.user"}, "user") != content_hash({"id": "1"}, "user")


def test_delta_overlays_properties_and_removals_become_tombstones(store):
    r1, _ = full_backup(store, "s1", users(4))
    with store.session(T, "s2", "incremental") as w:
        counts = w.put_delta("user", [
            {"id": "u-0000", "jobTitle": "Manager"},                      # overlay: other properties kept
            {"id": "u-0001", "@removed": {"reason": "changed"}},          # to the recycle bin
            {"id": "u-0002", "@removed": {"reason": "deleted"}},          # permanently deleted
            {"id": "u-0003", "mobilePhone": None},                        # null where missing: unchanged
            {"id": "u-0009", "displayName": "New Person"},                # new object
        ])
        r2 = w.commit()
    assert (counts.read, counts.new, counts.changed, counts.unchanged, counts.deleted) == (5, 1, 1, 1, 2)
    changed = store.get_object(T, r2, "user", "u-0000").data
    assert changed["jobTitle"] == "Manager" and changed["displayName"] == "User 0"
    assert ids(store.objects(T, r2)) == ["u-0000", "u-0003", "u-0009"]
    soft, hard = store.get_object(T, r2, "user", "u-0001"), store.get_object(T, r2, "user", "u-0002")
    assert (soft.deleted, hard.deleted) == ("soft", "hard")
    assert soft.data["displayName"] == "User 1"  # last state before the deletion
    assert store.get_object(T, r1, "user", "u-0001").deleted is None
    assert ids(store.objects(T, r2, include_deleted=True)) == ["u-0000", "u-0001", "u-0002", "u-0003", "u-0009"]
    assert store.changes(T, r2)["user"].deleted == 2


def test_full_read_missing_an_object_tombstones_it_missing_unless_soft_deleted(store):
    full_backup(store, "s1", users(4))
    with store.session(T, "s2", "full") as w:
        counts = w.put_full("user", users(2))
        w.mark_soft_deleted("user", ["u-0003"])
        r2 = w.commit()
    assert counts.deleted == 2
    assert store.get_object(T, r2, "user", "u-0002").deleted == "missing"
    assert store.get_object(T, r2, "user", "u-0003").deleted == "soft"
    r3, counts = full_backup(store, "s3", users(4))  # restored from the recycle bin
    assert counts.changed == 2
    assert store.count_objects(T, r3) == 4


def test_same_object_twice_in_one_session_keeps_the_last_content(store, conninfo):
    full_backup(store, "s1", users(2))
    with store.session(T, "s2", "full") as w:
        w.put_full("user", [user(0, jobTitle="A"), user(1)])
        w.put_delta("user", [{"id": "u-0000", "jobTitle": "B"}, {"id": "u-0001", "jobTitle": "C"}])
        w.put_delta("user", [{"id": "u-0001", "jobTitle": "Engineer"}])  # back to what was committed
        r2 = w.commit()
    assert store.get_object(T, r2, "user", "u-0000").data["jobTitle"] == "B"
    assert store.get_object(T, r2, "user", "u-0001").valid_from < r2
    assert row_count(conninfo, "object_version") == 3


def test_sync_state_advances_only_with_a_commit(store):
    with store.session(T, "s1", "full") as w:
        w.put_full("user", users(1))
        w.set_sync_state("delta:user", "link-1")
        assert w.sync_state("delta:user") is None
        w.commit()
    assert store.sync_state(T, "delta:user") == "link-1"
    with pytest.raises(RuntimeError, match="boom"), store.session(T, "s2", "incremental") as w:
        w.set_sync_state("delta:user", "link-2")
        assert w.sync_state("delta:user") == "link-1"
        raise RuntimeError("boom")
    with store.session(T, "s3", "incremental") as w:
        w.set_sync_state("delta:user", "link-3")  # no commit: dropped
    assert store.sync_state(T, "delta:user") == "link-1"


def test_session_that_raises_leaves_nothing_and_the_next_one_succeeds(store, conninfo):
    r1, _ = full_backup(store, "s1", users(10))
    with pytest.raises(ValueError), store.session(T, "s2", "full") as w:
        w.put_full("user", users(20))
        raise ValueError("graph read failed")
    assert row_count(conninfo, "object_version") == 10
    assert row_count(conninfo, "restore_point") == 1
    assert [p.id for p in store.restore_points(T)] == [r1]
    r3, counts = full_backup(store, "s2", users(20))
    assert (counts.new, counts.unchanged) == (10, 10)
    assert store.count_objects(T, r3) == 20


def test_second_concurrent_session_of_a_tenant_fails_clearly(store):
    with store.session(T, "s1", "full") as w:
        with pytest.raises(TenantLockedError, match="Another session of tenant 'contoso' is running"):
            with store.session(T, "s2", "full"):
                pass
        assert store.cleanup(T) == 0
        w.put_full("user", users(1))
        w.commit()
    with store.session(T, "s3", "full") as w:  # the lock went with the first session
        w.commit()


def test_readers_never_see_a_staging_restore_point(store):
    r1, _ = full_backup(store, "s1", users(3))
    with store.session(T, "s2", "full") as w:
        w.put_full("user", users(6))
        with pytest.raises(StoreNotFoundError, match="no committed restore point"):
            store.objects(T, w.restore_point_id)
        assert store.count_objects(T, r1) == 3
        assert store.latest_restore_point(T).id == r1
        assert [v.valid_from for v in store.object_history(T, "user", "u-0005")] == []
        w.commit()
    assert store.count_objects(T, store.latest_restore_point(T).id) == 6


def test_search_matches_name_upn_mail_app_id_and_id(store):
    apps = [{"id": "sp-1", "displayName": "Payroll Connector", "appId": "11111111-aaaa"},
            {"id": "sp-2", "displayName": "Other", "appId": "22222222-bbbb"}]
    with store.session(T, "s1", "full") as w:
        w.put_full("user", [user(1, displayName="Ada Lovelace", mail="ada@fabrikam.example"), user(2)])
        w.put_full("servicePrincipal", apps)
        r = w.commit()
    found = lambda q, **kw: ids(store.objects(T, r, search=q, **kw))  # noqa: E731
    assert found("lovel") == ["u-0001"]
    assert found("ADA") == ["u-0001"]
    assert found("user2@") == ["u-0002"]
    assert found("fabrikam") == ["u-0001"]
    assert found("11111111-aaaa") == ["sp-1"]
    assert found("sp-2") == ["sp-2"]
    assert found("payroll", object_type="user") == []
    assert found("100%") == []
    assert store.count_objects(T, r, search="user") == 2


def test_iter_objects_and_restore_points_list(store):
    r1, _ = full_backup(store, "s1", users(30), stats={"source": "test"})
    assert [o["id"] for o in store.iter_objects(T, r1, "user")] == [f"u-{n:04d}" for n in range(30)]
    point = store.latest_restore_point(T)
    assert (point.id, point.kind, point.types, point.stats["source"]) == (r1, "full", ["user"], "test")
    assert point.stats["objects"]["user"]["new"] == 30
