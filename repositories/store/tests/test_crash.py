"""A writer killed with SIGKILL at any point leaves nothing visible; cleanup or the next session removes it."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import row_count, user, users

ROOT = Path(__file__).resolve().parents[3]
T = "contoso"


def run_crashing_writer(conninfo: str, point: str) -> int:
    proc = subprocess.run([sys.executable, "-m", "repositories.store.tests.crash_writer", conninfo, point],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return int(proc.stdout.split()[0])


@pytest.fixture
def committed(store):
    with store.session(T, "base", "full") as w:
        w.put_full("user", users(20))
        w.put_relations_full("group_member", [("g-1", "u-0001", "user")], None)
        w.set_sync_state("delta:user", "base-link")
        return w.commit()


@pytest.mark.parametrize("point", ["mid-copy", "after-copy", "mid-relations", "mid-commit"])
def test_killed_writer_leaves_nothing_visible_and_cleanup_removes_leftovers(store, conninfo, committed, point):
    staged = run_crashing_writer(conninfo, point)
    assert staged > committed
    assert [p.id for p in store.restore_points(T)] == [committed]
    assert store.count_objects(T, committed) == 20
    assert [(r.source_id, r.target_id) for r in store.relations(T, committed)] == [("g-1", "u-0001")]
    assert store.sync_state(T, "delta:user") == "base-link"
    # Staged rows of completed put_full calls stay until cleanup; a half-sent COPY was rolled back.
    assert row_count(conninfo, "object_version", f"valid_from = {staged}") == 3000
    assert row_count(conninfo, "object_version", "object_type = 'group'") == 0
    assert store.cleanup(T, timeout=5) == 1
    assert row_count(conninfo, "object_version", f"valid_from = {staged}") == 0
    assert row_count(conninfo, "relation_version", f"valid_from = {staged}") == 0
    assert row_count(conninfo, "restore_point") == 1


def test_next_session_after_a_kill_removes_leftovers_and_commits(store, conninfo, committed):
    staged = run_crashing_writer(conninfo, "after-copy")
    with store.session(T, "next", "full") as w:
        assert row_count(conninfo, "object_version", f"valid_from = {staged}") == 0
        w.put_full("user", users(25))
        r = w.commit()
    assert store.count_objects(T, r) == 25
    assert row_count(conninfo, "object_version") == 25


def test_next_session_after_a_kill_with_changed_objects_staged_keeps_one_open_version_each(store, conninfo, committed):
    """The dead session's staged versions equal what the next session reads: unless they are removed first, the
    next session takes them for current, writes nothing and closes nothing, and each object stays open twice."""
    staged = run_crashing_writer(conninfo, "changed")
    assert row_count(conninfo, "object_version", f"valid_from = {staged}") == 20
    with store.session(T, "next", "full") as w:
        w.put_full("user", [user(n, jobTitle="Restorer") for n in range(20)])
        r = w.commit()
    assert row_count(conninfo, "object_version", "valid_to IS NULL") == 20
    assert row_count(conninfo, "object_version", f"valid_from = {staged}") == 0
    assert [o["jobTitle"] for o in store.iter_objects(T, r, "user")] == ["Restorer"] * 20
    assert [o["jobTitle"] for o in store.iter_objects(T, committed, "user")] == ["Engineer"] * 20
