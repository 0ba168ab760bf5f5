"""The cache repository on its own: watermarks, known ids, absorbed chunks, forgetting, safe names."""

import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest

from jobs.logbackup.cache import CacheError, LogCache

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_absorbed_chunks_make_their_ids_known_and_survive_a_reopen(tmp_path):
    cache = LogCache(tmp_path)
    with cache.open("t1", "audit") as c:
        c.absorb("primary", "chunk-1", ["a", "b"], T0 + timedelta(minutes=1))
        c.set_watermark("primary", T0 + timedelta(minutes=5))
    with cache.open("t1", "audit") as c:
        assert c.known("primary", ["a", "b", "c"]) == {"a", "b"} and c.known("secondary", ["a"]) == set()
        assert c.absorbed("primary") == {"chunk-1"} and c.absorbed("secondary") == set()
        assert c.watermark("primary") == T0 + timedelta(minutes=5) and c.watermark("secondary") is None


def test_watermark_never_moves_back_and_old_ids_are_forgotten(tmp_path):
    with LogCache(tmp_path).open("t1", "signin") as c:
        c.set_watermark("p", T0)
        c.set_watermark("p", T0 - timedelta(hours=1))
        assert c.watermark("p") == T0
        c.absorb("p", "k1", ["old"], T0 - timedelta(hours=3))
        c.absorb("p", "k2", ["new"], T0)
        assert c.forget_before("p", T0 - timedelta(hours=1)) == 1
        assert c.known("p", ["old", "new"]) == {"new"} and c.absorbed("p") == {"k2"}


def test_a_deleted_cache_directory_starts_empty(tmp_path):
    with LogCache(tmp_path / "cache").open("t1", "audit") as c:
        c.absorb("p", "k1", ["a"], T0)
    shutil.rmtree(tmp_path / "cache")
    with LogCache(tmp_path / "cache").open("t1", "audit") as c:
        assert c.known("p", ["a"]) == set() and c.watermark("p") is None


@pytest.mark.parametrize("tenant", ["../x", "a/b", "", ".."])
def test_names_never_leave_the_cache_directory(tmp_path, tenant):
    with pytest.raises(CacheError):
        LogCache(tmp_path).open(tenant, "audit")


def test_absorb_keeps_hostile_ids_and_forgets_them_with_their_chunk(tmp_path):
    ids = ['a"b', "日本😀", "back\\slash", "tab\tnl\n", "5", "x\x00y", "\\u0000"]
    at = datetime(2026, 5, 1, 1, 2, 3, 456789, tzinfo=UTC)
    with LogCache(tmp_path).open("t1", "audit") as c:
        c.absorb("primary", "chunk-1", ids, at + timedelta(microseconds=len(ids) - 1))
        c.absorb("primary", "chunk-2", ["later"], at + timedelta(minutes=1))
        assert c.known("primary", [*ids, "a"]) == set(ids)
    with LogCache(tmp_path).open("t1", "audit") as c:  # from the file, not from memory
        assert c.known("primary", [*ids, "a", "later"]) == {*ids, "later"}
        # A chunk is forgotten once its newest record is older than the cut: its ids stay known until then.
        assert c.forget_before("primary", at + timedelta(microseconds=len(ids) - 1)) == 0
        assert c.known("primary", ids) == set(ids)
        assert c.forget_before("primary", at + timedelta(seconds=1)) == len(ids)
        assert c.known("primary", [*ids, "later"]) == {"later"} and c.absorbed("primary") == {"chunk-2"}


def test_ids_another_connection_absorbs_are_known_at_once(tmp_path):
    cache = LogCache(tmp_path)
    with cache.open("t1", "audit") as first, cache.open("t1", "audit") as second:
        assert first.known("p", ["a", "b"]) == set()
        second.absorb("p", "k1", ["a"], T0)
        assert first.known("p", ["a", "b"]) == {"a"}
        second.forget_before("p", T0 + timedelta(hours=1))
        assert first.known("p", ["a", "b"]) == set()


def test_a_cache_of_the_per_record_layout_forgets_its_chunks_and_keeps_watermarks_and_copy_marks(tmp_path):
    """The earlier layout kept one row per id: its repositories' chunks are forgotten on open, so the session's
    absorb step reads them again from the repository (as after a lost cache) instead of trusting ids it lacks."""
    (tmp_path / "t1").mkdir()
    with closing(sqlite3.connect(tmp_path / "t1" / "audit.sqlite3")) as old:
        old.executescript("""
            CREATE TABLE watermark (repository TEXT PRIMARY KEY, at REAL NOT NULL);
            CREATE TABLE record (repository TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL,
                                 PRIMARY KEY (repository, id));
            CREATE TABLE chunk (repository TEXT NOT NULL, key TEXT NOT NULL, last REAL NOT NULL,
                                PRIMARY KEY (repository, key));
            INSERT INTO watermark VALUES ('primary', 1000.0);
            INSERT INTO record VALUES ('primary', 'a', 900.0), ('secondary', 'a', 900.0);
            INSERT INTO chunk VALUES ('primary', 'k1', 900.0), ('secondary', 'k1', 900.0),
                                     ('primary>secondary', 'k1', 900.0);
        """)
    with LogCache(tmp_path).open("t1", "audit") as c:
        assert c.absorbed("primary") == set() and c.absorbed("secondary") == set()
        assert c.absorbed("primary>secondary") == {"k1"} and c.watermark("primary").timestamp() == 1000.0
        c.absorb("primary", "k1", ["a"], T0)
        assert c.known("primary", ["a"]) == {"a"}
    with LogCache(tmp_path).open("t1", "audit") as c:  # migrated once
        assert c.absorbed("primary") == {"k1"}
