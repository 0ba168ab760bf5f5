"""The chain's compression dictionary: small chunks use it, stay readable, and a lost dictionary is found."""

from datetime import date

import orjson
import pytest
import zstandard

from repositories.logstore import ChunkDamagedError, DirectoryBackend, LogRepository
from repositories.logstore.dictionaries import TRAIN_MIN_RECORDS
from repositories.logstore.tests.factories import audit_records

PASSWORD = "correct horse battery"
DAY = date(2026, 11, 30)


@pytest.fixture(params=[None, PASSWORD], ids=["plain", "encrypted"])
def repo(request, tmp_path):
    return LogRepository.create(DirectoryBackend(tmp_path), password=request.param)


def write(repo, records, session="s1"):
    return repo.write_chunk(tenant="contoso", log_type="audit", day=DAY, session=session, records=records)


def test_once_the_chain_holds_enough_records_small_chunks_use_its_dictionary(repo, tmp_path):
    first = write(repo, audit_records(TRAIN_MIN_RECORDS // 2))
    assert first.dictionary is None
    second = write(repo, audit_records(TRAIN_MIN_RECORDS // 2, seed=2))
    assert second.dictionary is not None  # trained from both chunks
    small = audit_records(50, seed=3)
    third = write(repo, small, session="s2")
    assert third.dictionary == second.dictionary
    alone = zstandard.ZstdCompressor(level=3).compress(b"".join(orjson.dumps(r) + b"\n" for r in small))
    assert third.size < 0.85 * len(alone)
    reopened = LogRepository(repo.backend, password=PASSWORD if repo.key_id else None)
    assert [reopened.read_chunk(m) for m in reopened.manifests("contoso", "audit")][2] == small
    assert reopened.verify().ok and reopened.verify().records == TRAIN_MIN_RECORDS + 50
    stored = next(tmp_path.glob("contoso/audit/dictionaries/*"))
    assert stored.name.endswith(".zdict.enc" if repo.key_id else ".zdict")
    if repo.key_id:
        assert b"activityDisplayName" not in stored.read_bytes()


def test_a_missing_or_damaged_dictionary_is_found_by_verify(repo, tmp_path):
    write(repo, audit_records(TRAIN_MIN_RECORDS))
    small = write(repo, audit_records(20, seed=2))
    stored = next(tmp_path.glob("contoso/audit/dictionaries/*"))
    stored.write_bytes(stored.read_bytes()[:-1] + b"x")
    fresh = LogRepository(repo.backend, password=PASSWORD if repo.key_id else None)
    report = fresh.verify()
    assert [p.path.split("/")[2] for p in report.damaged][:1] == ["dictionaries"] and not report.ok
    stored.unlink()
    fresh = LogRepository(repo.backend, password=PASSWORD if repo.key_id else None)
    assert [p.path.split("/")[2] for p in fresh.verify().missing] == ["dictionaries"]
    with pytest.raises(ChunkDamagedError, match="Dictionary .* is missing"):
        fresh.read_chunk(next(m for m in fresh.manifests("contoso", "audit") if m.n == small.n))
