"""The log store on a directory: round trips, encryption, the chain, verify, prune and bad names."""

import json
from datetime import date
from pathlib import Path

import pytest

from repositories.logstore import (
    ChunkDamagedError,
    DirectoryBackend,
    LogRepository,
    LogRepositoryLayoutError,
    WrongPasswordError,
)
from repositories.logstore.tests.factories import audit_records

PASSWORD = "correct horse battery"
DAY1, DAY2, DAY3 = date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)


@pytest.fixture(params=[None, PASSWORD], ids=["plain", "encrypted"])
def repo(request, tmp_path):
    return LogRepository.create(DirectoryBackend(tmp_path / "logs"), password=request.param)


def write(repo, day, records, session="s1", log_type="audit"):
    return repo.write_chunk(tenant="contoso", log_type=log_type, day=day, session=session, records=records)


def test_chunks_round_trip_in_chain_order_with_their_manifest(repo, tmp_path):
    records = audit_records(300)
    first = write(repo, DAY2, records[:100])
    write(repo, DAY1, records[100:200], session="s2")  # a late record of an earlier day comes later in the chain
    write(repo, DAY2, records[200:])
    manifests = repo.manifests("contoso", "audit")
    assert [m.n for m in manifests] == [1, 2, 3]
    assert [r for m in manifests for r in repo.read_chunk(m)] == records
    assert manifests[0].chunk == f"contoso/audit/2026/11/29/s1-1.jsonl.zst{'.enc' if repo.key_id else ''}"
    assert manifests[1].previous == first.hash and manifests[0].previous is None
    assert manifests[0].records == 100 and manifests[0].first_time == records[0]["activityDateTime"]
    assert manifests[0].last_time == records[99]["activityDateTime"] and manifests[0].key_id == repo.key_id
    assert [m.n for m in repo.manifests("contoso", "audit", start=DAY2, end=DAY2)] == [1, 3]
    assert repo.verify().ok


def test_a_reopened_repository_continues_the_chain(tmp_path):
    backend = DirectoryBackend(tmp_path)
    write(LogRepository.create(backend, password=PASSWORD), DAY1, audit_records(5))
    reopened = LogRepository(backend, password=PASSWORD)
    second = write(reopened, DAY1, audit_records(5, seed=2))
    assert second.n == 2 and reopened.verify().ok


def test_encrypted_chunks_hold_no_record_text(tmp_path):
    repo = LogRepository.create(DirectoryBackend(tmp_path), password=PASSWORD)
    manifest = write(repo, DAY1, [{"id": "x", "note": "secret-marker " * 50}])
    stored = (tmp_path / manifest.chunk).read_bytes()
    assert b"secret-marker" not in stored
    keyinfo = json.loads((tmp_path / "keyinfo.json").read_text())
    assert keyinfo["kdf"] == {"name": "scrypt", "n": 2**17, "r": 8, "p": 1, "salt": keyinfo["kdf"]["salt"]}
    assert PASSWORD not in (tmp_path / "keyinfo.json").read_text()


def test_a_wrong_or_missing_password_is_a_clear_error(tmp_path):
    backend = DirectoryBackend(tmp_path)
    LogRepository.create(backend, password=PASSWORD)
    with pytest.raises(WrongPasswordError, match="Wrong password"):
        LogRepository(backend, password="not the password")
    with pytest.raises(WrongPasswordError, match="password is needed"):
        LogRepository(backend, password=None)


def test_changing_the_password_rewrites_no_chunk(tmp_path):
    backend = DirectoryBackend(tmp_path)
    repo = LogRepository.create(backend, password=PASSWORD)
    manifest = write(repo, DAY1, audit_records(50))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "keyinfo.json"}
    with pytest.raises(WrongPasswordError):
        repo.change_password("wrong password", "new password 123")
    repo.change_password(PASSWORD, "new password 123")
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "keyinfo.json"}
    assert after == before
    with pytest.raises(WrongPasswordError):
        LogRepository(backend, password=PASSWORD)
    reopened = LogRepository(backend, password="new password 123")
    assert reopened.key_id == repo.key_id and reopened.read_chunk(manifest) == audit_records(50)


def test_verify_finds_a_damaged_chunk(repo, tmp_path):
    manifest = write(repo, DAY1, audit_records(200))
    chunk = tmp_path / "logs" / manifest.chunk
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x40
    chunk.write_bytes(bytes(data))
    report = repo.verify()
    assert not report.ok and [p.path for p in report.damaged] == [manifest.chunk]
    with pytest.raises(ChunkDamagedError, match="sha-256"):
        repo.read_chunk(manifest)


def test_verify_finds_a_chunk_missing_under_its_manifest(repo, tmp_path):
    manifest = write(repo, DAY1, audit_records(20))
    (tmp_path / "logs" / manifest.chunk).unlink()
    report = repo.verify()
    assert [p.path for p in report.missing] == [manifest.chunk] and not report.ok
    with pytest.raises(ChunkDamagedError, match="missing"):
        repo.read_chunk(manifest)


def test_verify_finds_a_deleted_chunk_and_manifest_by_the_chain_gap(repo, tmp_path):
    write(repo, DAY1, audit_records(20))
    deleted = write(repo, DAY1, audit_records(20, seed=2))
    last = write(repo, DAY2, audit_records(20, seed=3))
    (tmp_path / "logs" / deleted.chunk).unlink()
    (tmp_path / "logs" / deleted.path).unlink()
    report = repo.verify()
    assert [p.path for p in report.deleted] == [last.path] and not report.ok


def _forge(repo, tmp_path, n, day, records):
    # Someone holding the keys writes a different, perfectly valid chunk (and manifest) at the place of chunk n.
    forger = LogRepository(repo.backend, password=PASSWORD if repo.key_id else None)
    forger._heads[("contoso", "audit")] = (n - 1, None)
    return write(forger, day, records)


def test_verify_finds_a_replaced_chunk_that_is_itself_valid(repo, tmp_path):
    original = write(repo, DAY1, audit_records(20))
    manifest_bytes = (tmp_path / "logs" / original.path).read_bytes()
    _forge(repo, tmp_path, 1, DAY1, audit_records(20, seed=9))
    (tmp_path / "logs" / original.path).write_bytes(manifest_bytes)  # the manifest is the original one
    report = repo.verify()
    assert [p.path for p in report.replaced] == [original.chunk] and not report.damaged and not report.ok


def test_verify_finds_a_replaced_chunk_and_manifest_by_the_chain(repo, tmp_path):
    write(repo, DAY1, audit_records(20))
    following = write(repo, DAY1, audit_records(20, seed=2))
    _forge(repo, tmp_path, 1, DAY1, audit_records(20, seed=9))
    report = repo.verify()
    assert [p.path for p in report.replaced] == [following.path] and not report.ok


def test_a_chunk_without_its_manifest_is_reported_and_never_read(repo, tmp_path):
    write(repo, DAY1, audit_records(10))
    real_put = repo.backend.put
    calls = []

    def stop_before_manifest(key, data, **kw):
        calls.append(key)
        if key.endswith(".manifest.json"):
            raise OSError("the writer died")
        real_put(key, data, **kw)

    repo.backend.put = stop_before_manifest
    with pytest.raises(OSError):
        write(repo, DAY1, audit_records(10, seed=2))
    repo.backend.put = real_put
    assert len(repo.manifests("contoso", "audit")) == 1
    report = repo.verify()
    assert report.ok and len(report.orphaned) == 1


def test_prune_removes_whole_days_only_and_the_chain_still_verifies(repo, tmp_path):
    records = audit_records(60)
    write(repo, DAY1, records[:20])
    write(repo, DAY2, records[20:40])
    write(repo, DAY1, records[40:50], session="late")  # late records of day 1 arrive after day 2 began
    write(repo, DAY3, records[50:])
    assert repo.prune("contoso", "audit", before=DAY2) == [DAY1]
    assert not (tmp_path / "logs/contoso/audit/2026/11/28").exists() or not any(
        (tmp_path / "logs/contoso/audit/2026/11/28").iterdir())
    kept = repo.manifests("contoso", "audit")
    assert [m.day for m in kept] == [DAY2, DAY3]
    assert [r for m in kept for r in repo.read_chunk(m)] == records[20:40] + records[50:]
    assert repo.verify().ok
    assert write(repo, DAY3, audit_records(5, seed=5)).n == 5 and repo.verify().ok


def test_pruning_everything_keeps_the_chain_head(repo):
    write(repo, DAY1, audit_records(5))
    assert repo.prune("contoso", "audit", before=DAY3) == [DAY1]
    fresh = LogRepository(repo.backend, password=PASSWORD if repo.key_id else None)
    assert write(fresh, DAY3, audit_records(5, seed=2)).n == 2 and fresh.verify().ok


@pytest.mark.parametrize("field,value", [("tenant", "../etc"), ("tenant", "a/b"), ("log_type", ".."),
                                         ("session", "x y"), ("tenant", "")])
def test_names_that_could_escape_the_layout_are_refused(tmp_path, field, value):
    repo = LogRepository.create(DirectoryBackend(tmp_path / "logs"), password=None)
    args = {"tenant": "contoso", "log_type": "audit", "session": "s1", field: value}
    with pytest.raises(LogRepositoryLayoutError, match="Not a valid"):
        repo.write_chunk(day=DAY1, records=[{"id": "1"}], **args)
    assert [p for p in (tmp_path).rglob("*") if p.is_file()] == [tmp_path / "logs" / "keyinfo.json"]


def test_opening_storage_without_a_repository_or_creating_over_data_is_refused(tmp_path):
    with pytest.raises(LogRepositoryLayoutError, match="no log repository"):
        LogRepository(DirectoryBackend(tmp_path), password=None)
    (tmp_path / "something").write_text("x")
    with pytest.raises(LogRepositoryLayoutError, match="not empty"):
        LogRepository.create(DirectoryBackend(tmp_path), password=None)
    assert not Path(tmp_path / "keyinfo.json").exists()
