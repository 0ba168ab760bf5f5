"""The cache repository on its own: watermarks, known ids, absorbed chunks, forgetting, safe names."""

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from jobs.logbackup.cache import CacheError, LogCache

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_absorbed_chunks_make_their_ids_known_and_survive_a_reopen(tmp_path):
    cache = LogCache(tmp_path)
    with cache.open("t1", "audit") as c:
        c.absorb("primary", "chunk-1", [("a", T0), ("b", T0 + timedelta(minutes=1))])
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
        c.absorb("p", "k1", [("old", T0 - timedelta(hours=3))])
        c.absorb("p", "k2", [("new", T0)])
        assert c.forget_before("p", T0 - timedelta(hours=1)) == 1
        assert c.known("p", ["old", "new"]) == {"new"} and c.absorbed("p") == {"k2"}


def test_a_deleted_cache_directory_starts_empty(tmp_path):
    with LogCache(tmp_path / "cache").open("t1", "audit") as c:
        c.absorb("p", "k1", [("a", T0)])
    shutil.rmtree(tmp_path / "cache")
    with LogCache(tmp_path / "cache").open("t1", "audit") as c:
        assert c.known("p", ["a"]) == set() and c.watermark("p") is None


@pytest.mark.parametrize("tenant", ["../x", "a/b", "", ".."])
def test_names_never_leave_the_cache_directory(tmp_path, tenant):
    with pytest.raises(CacheError):
        LogCache(tmp_path).open(tenant, "audit")


@pytest.mark.parametrize("nul", [False, True], ids=["json_each", "row-by-row"])
def test_absorb_keeps_hostile_ids_and_exact_times(tmp_path, nul):
    ids = ['a"b', "日本😀", "back\\slash", "tab\tnl\n", "5", *(["x\x00y"] if nul else [])]
    at = datetime(2026, 5, 1, 1, 2, 3, 456789, tzinfo=UTC)
    with LogCache(tmp_path).open("t1", "audit") as c:
        c.absorb("primary", "chunk-1", [(rid, at + timedelta(microseconds=n)) for n, rid in enumerate(ids)])
        assert c.known("primary", [*ids, "a"]) == set(ids)
        stored = dict(c._db.execute("SELECT id, at FROM record"))
        assert stored == {rid: (at + timedelta(microseconds=n)).timestamp() for n, rid in enumerate(ids)}
        assert c.forget_before("primary", at + timedelta(microseconds=2)) == 2
        assert c.known("primary", ids) == set(ids[2:])
