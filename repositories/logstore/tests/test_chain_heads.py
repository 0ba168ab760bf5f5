"""Chain heads recorded outside the repository: the newest chunks removed are found, two writers are refused."""

from datetime import date

import pytest

from repositories.logstore import ChainConflictError, DirectoryBackend, Head, LogRepository, MemoryHeads
from repositories.logstore.tests.factories import audit_records

PASSWORD = "correct horse battery"
DAY1, DAY2 = date(2026, 11, 29), date(2026, 11, 30)


@pytest.fixture(params=[None, PASSWORD], ids=["plain", "encrypted"])
def password(request):
    return request.param


def write(repo, day, seed, count=10):
    return repo.write_chunk(tenant="contoso", log_type="audit", day=day, session="s1",
                            records=audit_records(count, seed=seed))


def remove(root, *manifests):
    for manifest in manifests:
        (root / manifest.chunk).unlink()
        (root / manifest.path).unlink()


def test_removing_the_newest_chunks_is_reported_missing_only_with_recorded_heads(tmp_path, password):
    heads = MemoryHeads()
    repo = LogRepository.create(DirectoryBackend(tmp_path), password=password, heads=heads)
    write(repo, DAY1, 1)
    second, third = write(repo, DAY1, 2), write(repo, DAY2, 3)
    assert heads.get("contoso", "audit") == Head(3, third.hash)
    remove(tmp_path, second, third)
    assert LogRepository(DirectoryBackend(tmp_path), password=password).verify().ok  # the chain alone cannot tell
    report = LogRepository(DirectoryBackend(tmp_path), password=password, heads=heads).verify()
    assert not report.ok
    assert [(p.path, "numbers 2 to 3" in p.reason) for p in report.missing] == [("contoso/audit", True)]


def test_a_whole_chain_removed_is_reported_missing(tmp_path):
    heads = MemoryHeads()
    repo = LogRepository.create(DirectoryBackend(tmp_path), password=None, heads=heads)
    remove(tmp_path, write(repo, DAY1, 1))
    report = LogRepository(DirectoryBackend(tmp_path), password=None, heads=heads).verify()
    assert [p.path for p in report.missing] == ["contoso/audit"]


def test_a_replaced_newest_manifest_is_reported(tmp_path):
    heads = MemoryHeads()
    repo = LogRepository.create(DirectoryBackend(tmp_path), password=None, heads=heads)
    newest = write(repo, DAY1, 1)
    forger = LogRepository(DirectoryBackend(tmp_path), password=None)
    forger._heads[("contoso", "audit")] = (0, None)
    write(forger, DAY1, 9)
    report = LogRepository(DirectoryBackend(tmp_path), password=None, heads=heads).verify()
    assert [p.path for p in report.replaced] == [newest.path]


def test_the_first_check_records_the_head_of_a_chain_written_without_heads(tmp_path):
    old = LogRepository.create(DirectoryBackend(tmp_path), password=None)
    write(old, DAY1, 1)
    newest = write(old, DAY1, 2)
    heads = MemoryHeads()
    assert LogRepository(DirectoryBackend(tmp_path), password=None, heads=heads).verify().ok
    assert heads.get("contoso", "audit") == Head(2, newest.hash)
    remove(tmp_path, newest)
    assert not LogRepository(DirectoryBackend(tmp_path), password=None, heads=heads).verify().ok


def test_a_writer_after_the_newest_chunks_were_removed_keeps_the_gap_visible(tmp_path):
    heads = MemoryHeads()
    repo = LogRepository.create(DirectoryBackend(tmp_path), password=None, heads=heads)
    write(repo, DAY1, 1)
    remove(tmp_path, write(repo, DAY1, 2))
    reopened = LogRepository(DirectoryBackend(tmp_path), password=None, heads=heads)
    after = write(reopened, DAY2, 3)
    assert after.n == 3
    assert [p.path for p in reopened.verify().deleted] == [after.path]


def test_a_second_writer_on_one_chain_is_refused_before_it_writes(tmp_path):
    heads = MemoryHeads()
    first = LogRepository.create(DirectoryBackend(tmp_path), password=None, heads=heads)
    write(first, DAY1, 1)
    second = LogRepository(DirectoryBackend(tmp_path), password=None, heads=heads)
    write(second, DAY1, 2)
    with pytest.raises(ChainConflictError, match="another session"):
        write(first, DAY1, 3)
    assert [m.n for m in first.manifests("contoso", "audit")] == [1, 2]
    assert first.verify().ok


def test_a_check_between_a_write_and_its_record_fails_neither(tmp_path):
    heads = MemoryHeads()
    writer = LogRepository.create(DirectoryBackend(tmp_path), password=None, heads=heads)
    write(writer, DAY1, 1)
    record, checked = heads.advance, []

    def check_first(*args, **kwargs):  # the scheduled check runs after the manifest is stored, before its record
        heads.advance = record
        checked.append(LogRepository(DirectoryBackend(tmp_path), password=None, heads=heads).verify())
        record(*args, **kwargs)

    heads.advance = check_first
    newest = write(writer, DAY1, 2)
    assert checked[0].ok and heads.get("contoso", "audit") == Head(2, newest.hash)
