"""A record without an id does not stop a backup: it gets a stable id derived from its content."""

from datetime import UTC, datetime, timedelta

from jobs.logbackup.cache import LogCache
from jobs.logbackup.engine import Run, Target, backup_log_type
from jobs.logbackup.types import CONTENT_ID_PREFIX, LOG_TYPES, ensure_id

from .stores import open_store

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


class PagesClient:
    """Graph's side of a log read, faked at the client boundary: one page of the given records."""

    class cloud:  # noqa: N801 - the attribute the engine reads
        graph_url = "https://graph.example"

    def __init__(self, records):
        self.records = records

    def iter_pages(self, url, params=None, headers=None):
        yield {"value": [dict(r) for r in self.records]}  # a fresh copy per read, as Graph would send


def test_a_content_id_is_stable_and_cannot_look_like_a_graph_id():
    first = {"activityDateTime": "2026-11-30T10:00:00.0000000Z", "initiatedBy": {"user": {"id": "u", "ip": "1"}}}
    again = {"initiatedBy": {"user": {"ip": "1", "id": "u"}}, "activityDateTime": "2026-11-30T10:00:00.0000000Z",
             "id": None}
    assert ensure_id(first) and ensure_id(again) and first["id"] == again["id"]
    assert first["id"].startswith(CONTENT_ID_PREFIX) and len(first["id"]) == len(CONTENT_ID_PREFIX) + 64
    kept = {"id": "Directory_ABC", "activityDateTime": "x"}
    assert not ensure_id(kept) and kept["id"] == "Directory_ABC"


def test_records_without_an_id_are_stored_once_and_counted_in_the_warnings(tmp_path):
    records = [{"activityDateTime": "2026-11-30T11:50:00.0000000Z", "activityDisplayName": "Update user"},
               {"activityDateTime": "2026-11-30T11:51:00.0000000Z", "activityDisplayName": "Update user"},
               {"id": "Directory_1", "activityDateTime": "2026-11-30T11:52:00.0000000Z"}]
    primary = Target("primary", open_store(tmp_path / "primary"))
    results = []
    for minutes in (0, 5):  # the second read overlaps the first: the same records come again
        with LogCache(tmp_path / "cache").open("contoso", "audit") as cache:
            run = Run(client=PagesClient(records), log_type=LOG_TYPES["audit"], tenant="contoso",
                      session=f"s{minutes}", primary=primary, cache=cache, overlap=timedelta(minutes=60),
                      now=NOW + timedelta(minutes=minutes), retention=timedelta(hours=1))  # one slice
            results.append(backup_log_type(run))
    assert [(r.new, r.duplicates, r.without_id) for r in results] == [(3, 0, 2), (0, 3, 2)]
    assert any("2 records came without an id" in w for w in results[0].warnings)
    stored = [r for m in primary.store.manifests("contoso", "audit") for r in primary.store.read_chunk(m)]
    assert sorted(r["id"][:len(CONTENT_ID_PREFIX)] for r in stored) == ["Directory_1", *[CONTENT_ID_PREFIX] * 2]
