"""Compaction of a closed day's small chunks: every record once, the chain verifiable, crashes recovered."""

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from repositories.logstore import DirectoryBackend, LogRepository, MemoryHeads, open_backend
from repositories.logstore import compaction as compaction_module
from repositories.logstore.compaction import compact_chain
from repositories.logstore.tests.factories import audit_records

PASSWORD = "correct horse battery"
DAY1, DAY2, DAY3 = date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)
RECORDS = audit_records(170, seed=11)


@pytest.fixture(params=[None, PASSWORD], ids=["plain", "encrypted"])
def password(request):
    return request.param


def create(backend, password, heads=None):
    return LogRepository.create(backend, password=password, heads=heads, scrypt_n=2**10)  # a fast key: tests only


def write(repo, day, records, session="s1"):
    return repo.write_chunk(tenant="contoso", log_type="audit", day=day, session=session, records=records)


def filled(repo):
    """Day 1 in five sessions, a chunk of day 2 in between and a late day-1 chunk after it; day 3 is open."""
    for at in range(0, 80, 20):
        write(repo, DAY1, RECORDS[at:at + 20], session=f"ls{at}")
    write(repo, DAY2, RECORDS[80:100], session="ls80")
    write(repo, DAY1, RECORDS[100:110], session="ls90")  # late records of day 1, after a day-2 link
    write(repo, DAY2, RECORDS[110:130], session="ls90")
    write(repo, DAY3, RECORDS[130:150], session="ls91")
    write(repo, DAY3, RECORDS[150:170], session="ls92")
    return repo


def stored(repo) -> Counter:
    return Counter(r["id"] for m in repo.manifests("contoso", "audit") for r in repo.read_chunk(m))


def files(root: Path, day: date) -> list[str]:
    folder = root / "contoso" / "audit" / f"{day:%Y/%m/%d}"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_compaction_keeps_every_record_once_leaves_open_days_and_the_chain_verifies(tmp_path, password):
    heads = MemoryHeads()
    repo = filled(create(DirectoryBackend(tmp_path), password, heads))
    before, day3 = stored(repo), files(tmp_path, DAY3)
    report = compact_chain(repo, "contoso", "audit", closed_before=DAY3)
    assert report.days == [DAY1, DAY2] and report.merged == 7 and report.records == 130
    assert stored(repo) == before and max(stored(repo).values()) == 1
    assert [name.split("-")[0] for name in files(tmp_path, DAY1)] == ["compact", "compact"]  # chunk, manifest
    assert files(tmp_path, DAY3) == day3  # today is open: not compacted
    merged = repo.manifests("contoso", "audit", DAY1, DAY1)[0]
    assert [r["id"] for r in repo.read_chunk(merged)] == [r["id"] for r in RECORDS[:80] + RECORDS[100:110]]
    assert heads.get("contoso", "audit").n == 11  # the compacted chunks are the chain's newest links
    report = LogRepository(DirectoryBackend(tmp_path), password=password, heads=heads).verify()
    assert report.ok and not report.orphaned and report.records == 170
    write(repo, DAY3, audit_records(5, seed=99))  # the chain goes on from the compacted link
    assert LogRepository(DirectoryBackend(tmp_path), password=password, heads=heads).verify().ok
    assert not compact_chain(repo, "contoso", "audit", closed_before=DAY3)  # nothing left to do
    assert repo.prune("contoso", "audit", before=DAY2) == [DAY1]  # retention still drops whole days
    assert LogRepository(DirectoryBackend(tmp_path), password=password, heads=heads).verify().ok


def _compacted(tmp_path, heads):
    repo = filled(create(DirectoryBackend(tmp_path), None, heads))
    compact_chain(repo, "contoso", "audit", closed_before=DAY2)
    return repo, repo.manifests("contoso", "audit", DAY1, DAY1)[0]


def test_the_health_check_still_finds_a_compacted_chunk_deleted_replaced_or_damaged(tmp_path):
    heads = MemoryHeads()
    repo, merged = _compacted(tmp_path, heads)
    write(repo, DAY3, audit_records(5, seed=99))  # so the compacted link is not the head
    chunk = tmp_path / merged.chunk

    def check():
        return LogRepository(DirectoryBackend(tmp_path), password=None, heads=heads).verify()

    saved = chunk.read_bytes()
    chunk.write_bytes(saved[:-20] + bytes(20))
    assert [p.path for p in check().damaged] == [merged.chunk]
    other = repo.manifests("contoso", "audit", DAY2, DAY2)[0]
    chunk.write_bytes((tmp_path / other.chunk).read_bytes())  # a valid chunk, not this one
    assert [p.path for p in check().replaced] == [merged.chunk]
    chunk.write_bytes(saved)
    assert check().ok
    chunk.unlink()
    (tmp_path / merged.path).unlink()
    assert check().deleted  # the next link points at a manifest nobody stands in for any more


def test_a_crash_between_the_new_chunk_and_the_removal_loses_and_duplicates_nothing(tmp_path, monkeypatch):
    repo = filled(create(DirectoryBackend(tmp_path), None, MemoryHeads()))
    before = stored(repo)
    real_delete, deleted = repo.backend.delete, []

    def die_after_two(key):
        if len(deleted) == 2:
            raise RuntimeError("killed while removing the replaced chunks")
        deleted.append(key)
        real_delete(key)

    monkeypatch.setattr(repo.backend, "delete", die_after_two)
    with pytest.raises(RuntimeError, match="killed"):
        compact_chain(repo, "contoso", "audit", closed_before=DAY2)
    monkeypatch.setattr(repo.backend, "delete", real_delete)
    assert stored(repo) == before  # the compacted chunk is read, the replaced ones are hidden
    report = repo.verify()
    assert report.ok and report.orphaned and report.records == 170
    assert compact_chain(repo, "contoso", "audit", closed_before=DAY2).finished == 1
    assert stored(repo) == before and len(files(tmp_path, DAY1)) == 2
    assert repo.verify().ok and not repo.verify().orphaned


def test_a_crash_before_the_compacted_manifest_leaves_an_orphan_that_a_later_run_removes(tmp_path, monkeypatch):
    repo = filled(create(DirectoryBackend(tmp_path), None, MemoryHeads()))
    before, real_put = stored(repo), repo.backend.put

    def die_at_the_manifest(key, data, **kwargs):
        if "/compact-" in key and key.endswith(".manifest.json"):
            raise RuntimeError("killed before the manifest")
        real_put(key, data, **kwargs)

    monkeypatch.setattr(repo.backend, "put", die_at_the_manifest)
    with pytest.raises(RuntimeError, match="killed"):
        compact_chain(repo, "contoso", "audit", closed_before=DAY2)
    monkeypatch.setattr(repo.backend, "put", real_put)
    assert stored(repo) == before and repo.verify().ok  # nothing changed but an orphaned chunk
    write(repo, DAY3, audit_records(5, seed=99))  # the chain moves past the orphan's number
    compact_chain(repo, "contoso", "audit", closed_before=DAY2)
    assert stored(repo) == before + Counter(r["id"] for r in audit_records(5, seed=99))
    assert len(files(tmp_path, DAY1)) == 2 and not repo.verify().orphaned and repo.verify().ok


def test_compaction_on_s3_with_encryption(s3):
    bucket = s3.new_bucket()
    repo = create(open_backend(s3.spec(bucket, prefix="logs")), PASSWORD)
    for at in range(0, 30, 10):
        write(repo, DAY1, RECORDS[at:at + 10], session=f"ls{at}")
    write(repo, DAY3, RECORDS[30:40], session="ls30")
    before = stored(repo)
    assert compact_chain(repo, "contoso", "audit", closed_before=DAY3).merged == 3
    reopened = LogRepository(open_backend(s3.spec(bucket, prefix="logs")), password=PASSWORD)
    assert stored(reopened) == before and reopened.verify().ok
    keys = [item["Key"] for item in s3.client().list_objects_v2(Bucket=bucket, Prefix="logs/contoso/audit/2026/11/28")
            ["Contents"]]
    assert len(keys) == 2 and all("/compact-" in key for key in keys) and keys[0].endswith(".jsonl.zst.enc")


def test_a_compacted_day_is_compacted_again_with_a_late_chunk_and_keeps_its_links(tmp_path):
    heads = MemoryHeads()
    repo, first = _compacted(tmp_path, heads)
    write(repo, DAY1, audit_records(3, seed=50), session="ls95")  # a catch-up writes to the closed day
    write(repo, DAY1, audit_records(3, seed=51), session="ls96")
    before = stored(repo)
    compact_chain(repo, "contoso", "audit", closed_before=DAY2)
    second = repo.manifests("contoso", "audit", DAY1, DAY1)
    assert len(second) == 1 and second[0].records == 96 and stored(repo) == before
    assert {link.hash for link in first.links()} < {link.hash for link in second[0].links()}
    assert LogRepository(DirectoryBackend(tmp_path), password=None, heads=heads).verify().ok


def test_a_compacted_manifest_with_a_forged_record_count_is_damage(tmp_path, monkeypatch):
    repo = filled(create(DirectoryBackend(tmp_path), None))
    real = compaction_module._write

    def forged(store, tenant, log_type, day, small, records):
        return real(store, tenant, log_type, day, small[:-1], records)  # claims fewer chunks than it holds

    monkeypatch.setattr(compaction_module, "_write", forged)
    compact_chain(repo, "contoso", "audit", closed_before=DAY2)
    assert any("record count" in p.reason for p in repo.verify().damaged)
