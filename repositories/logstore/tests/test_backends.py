"""Backends against real storage: S3 on a loopback server (moto), a full tmpfs, a read-only directory."""

import os
import subprocess
from datetime import UTC, date, datetime

import pytest

from repositories.logstore import (
    BackendRefusedError,
    BackendUnavailableError,
    DirectoryBackend,
    LogRepository,
    LogRepositoryLayoutError,
    S3Backend,
    open_backend,
)
from repositories.logstore.tests.factories import audit_records

PASSWORD = "correct horse battery"
DAY = date(2026, 11, 30)


def test_s3_round_trip_verify_and_prune(s3):
    bucket = s3.new_bucket()
    repo = LogRepository.create(open_backend(s3.spec(bucket, prefix="entra/logs")), password=PASSWORD)
    records = audit_records(120)
    repo.write_chunk(tenant="contoso", log_type="audit", day=date(2026, 11, 29), session="s1", records=records[:60])
    repo.write_chunk(tenant="contoso", log_type="audit", day=DAY, session="s1", records=records[60:])
    keys = sorted(item["Key"] for item in s3.client().list_objects_v2(Bucket=bucket)["Contents"])
    assert keys[0] == "entra/logs/contoso/audit/2026/11/29/s1-1.jsonl.zst.enc" and "entra/logs/keyinfo.json" in keys
    reopened = LogRepository(open_backend(s3.spec(bucket, prefix="entra/logs")), password=PASSWORD)
    assert [r for m in reopened.manifests("contoso", "audit") for r in reopened.read_chunk(m)] == records
    assert reopened.verify().ok
    assert reopened.prune("contoso", "audit", before=DAY) == [date(2026, 11, 29)]
    assert reopened.verify().ok and len(reopened.manifests("contoso", "audit")) == 1


def test_s3_object_lock_keeps_chunks_in_compliance_mode(s3):
    bucket = s3.new_bucket(object_lock=True)
    backend = open_backend(s3.spec(bucket, object_lock_days=30))
    backend.check_writable()
    repo = LogRepository.create(backend, password=None)
    manifest = repo.write_chunk(tenant="contoso", log_type="audit", day=DAY, session="s1", records=audit_records(5))
    head = s3.client().head_object(Bucket=bucket, Key=manifest.chunk)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert (head["ObjectLockRetainUntilDate"] - datetime.now(UTC)).days in (29, 30)
    with pytest.raises(Exception, match="AccessDenied"):
        s3.client().delete_object(Bucket=bucket, Key=manifest.chunk, VersionId=head["VersionId"])
    assert repo.read_chunk(manifest) == audit_records(5)


def test_object_lock_asked_on_a_bucket_without_it_is_refused(s3):
    backend = open_backend(s3.spec(s3.new_bucket(), object_lock_days=30))
    with pytest.raises(BackendRefusedError, match="object lock is not enabled"):
        backend.check_writable()


def test_a_missing_bucket_is_refused_clearly(s3):
    with pytest.raises(BackendRefusedError, match="bucket does not exist"):
        open_backend(s3.spec("no-such-bucket-here")).check_writable()


def test_a_bucket_refusing_writes_is_refused_clearly_and_holds_nothing(s3):
    bucket = s3.new_bucket()
    policy = ('{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject",'
              f'"Resource":"arn:aws:s3:::{bucket}/*"}}]}}')
    s3.client().put_bucket_policy(Bucket=bucket, Policy=policy)
    with pytest.raises(BackendRefusedError, match="cannot write .*access denied"):
        open_backend(s3.spec(bucket)).check_writable()
    assert "Contents" not in s3.client().list_objects_v2(Bucket=bucket)


def test_an_unreachable_endpoint_is_unavailable_not_refused():
    backend = S3Backend("http://127.0.0.1:9", "logs", access_key_id="k", secret_access_key="s", path_style=True)
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        backend.check_writable()


def test_the_secret_access_key_never_appears_in_errors(s3):
    backend = S3Backend(s3.endpoint_url, "no-such-bucket-here", access_key_id="k", secret_access_key="topsecret-xyz",
                        path_style=True)
    with pytest.raises(BackendRefusedError) as caught:
        backend.check_writable()
    assert "topsecret-xyz" not in str(caught.value)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs: a disk that really fills up."""
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mountpoint)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mountpoint
    subprocess.run(["umount", str(mountpoint)], check=True)


def test_a_full_disk_is_refused_clearly_and_leaves_no_partial_file(tiny_disk):
    backend = DirectoryBackend(tiny_disk / "logs")
    repo = LogRepository.create(backend, password=None)
    big = [{"id": str(i), "blob": os.urandom(400).hex()} for i in range(200)]  # ~160 KiB, incompressible
    with pytest.raises(BackendRefusedError, match="disk is full"):
        repo.write_chunk(tenant="contoso", log_type="audit", day=DAY, session="s1", records=big)
    files = sorted(p.name for p in tiny_disk.rglob("*") if p.is_file())
    assert files == ["keyinfo.json"]
    assert repo.manifests("contoso", "audit") == [] and repo.verify().ok


def test_a_read_only_directory_is_refused(tmp_path):
    if os.geteuid() == 0:
        # root ignores permission bits; a read-only bind would need a mount, so use a file where the directory goes
        (tmp_path / "file").write_text("x")
        with pytest.raises(BackendRefusedError, match="not a directory"):
            DirectoryBackend(tmp_path / "file" / "logs").check_writable()
        return
    (tmp_path / "ro").mkdir(mode=0o500)
    with pytest.raises(BackendRefusedError, match="permission denied"):
        DirectoryBackend(tmp_path / "ro" / "logs").check_writable()


def test_object_keys_with_dot_dot_are_refused(tmp_path):
    with pytest.raises(LogRepositoryLayoutError):
        DirectoryBackend(tmp_path).put("../outside", b"x")
    with pytest.raises(LogRepositoryLayoutError):
        DirectoryBackend(tmp_path).get("/etc/passwd")
