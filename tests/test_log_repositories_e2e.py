"""Log repositories end to end: the operator's commands as real processes, against a real S3 server
process (moto_server) on loopback and the test database."""

import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import boto3
import pytest

from repositories import services
from repositories.logstore.tests.factories import audit_records
from repositories.models import LogRepository
from tests.support.processes import ROOT, product_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
KEY_ID, SECRET, PASSWORD = "AKIDE2E", "e2e-secret-access-key", "correct horse battery"


@pytest.fixture
def s3_process(tmp_path):
    """`moto_server` in its own process, as an S3-compatible endpoint would be."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=KEY_ID,
                          aws_secret_access_key=SECRET)
    for _ in range(100):
        try:
            client.list_buckets()
            break
        except Exception:
            time.sleep(0.1)
    yield url, client
    process.terminate()
    process.wait(10)


def manage(*args, env=None):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env or product_env(),
                          capture_output=True, text=True, timeout=120)


def test_add_write_damage_and_check_an_s3_log_repository(s3_process, tmp_path):
    url, client = s3_process
    client.create_bucket(Bucket="entra-logs", ObjectLockEnabledForBucket=True)
    (tmp_path / "secret").write_text(SECRET)
    (tmp_path / "password").write_text(PASSWORD)
    done = manage("log_repository_add", "--name", "Offsite", "--kind", "s3", "--endpoint", url, "--bucket", "entra-logs",
                  "--prefix", "prod", "--access-key-id", KEY_ID, "--secret-access-key-file", str(tmp_path / "secret"),
                  "--path-style", "--object-lock-days", "3", "--retention-days", "30",
                  "--encryption-password-file", str(tmp_path / "password"), "--password-hint", "vault entry 7")
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr and PASSWORD not in done.stdout + done.stderr

    repository = LogRepository.objects.get(name="Offsite")
    with services.log_repository_open(repository) as store:
        manifests = [store.write_chunk(tenant="contoso", log_type="audit", day=date(2026, 11, 30), session="s1",
                                       records=audit_records(50, seed=n)) for n in range(3)]
    done = manage("log_repository_check", "--name", "Offsite")
    assert done.returncode == 0 and "150 records checked; all sound" in done.stdout
    listing = manage("log_repository_list")
    assert "Offsite\ts3\ts3://entra-logs/prod" in listing.stdout and "sound" in listing.stdout

    # Object lock keeps the old version, but a new version over it must still be noticed.
    client.put_object(Bucket="entra-logs", Key=f"prod/{manifests[1].chunk}", Body=b"not a chunk")
    done = manage("log_repository_check", "--name", "Offsite")
    assert done.returncode == 1 and f"DAMAGED\t{manifests[1].chunk}" in done.stdout
    assert "is damaged" in done.stderr and "Traceback" not in done.stderr


def test_refusals_are_one_line_and_exit_non_zero(s3_process, tmp_path, settings):
    url, _ = s3_process
    (tmp_path / "secret").write_text(SECRET)
    done = manage("log_repository_add", "--name", "Nope", "--kind", "s3", "--endpoint", url, "--bucket", "missing-bucket",
                  "--access-key-id", KEY_ID, "--secret-access-key-file", str(tmp_path / "secret"), "--path-style",
                  "--retention-days", "30")
    assert done.returncode == 1 and "the bucket does not exist" in done.stderr and "Traceback" not in done.stderr
    env = product_env(ENTRABACKUP_LOG_REPOSITORY_ROOTS=str(tmp_path / "roots"))
    done = manage("log_repository_add", "--name", "Escape", "--kind", "directory", "--path", "../../etc",
                  "--retention-days", "30", env=env)
    assert done.returncode == 1 and "not inside an allowed directory" in done.stderr
    assert not LogRepository.objects.exists()
