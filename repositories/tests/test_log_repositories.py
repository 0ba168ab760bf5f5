"""Log backup repositories on the Django side: adding (checked first), sealed secrets, the health check,
the password change, the default repository, the pages and the commands."""

import subprocess
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from repositories import services
from repositories.errors import (
    LogRepositoryPasswordError,
    RepositoryError,
    RepositoryMisconfiguredError,
    RepositoryUnavailableError,
)
from repositories.logstore import LogRepository as LogStore
from repositories.logstore.tests.factories import audit_records
from repositories.models import LogRepository

PASSWORD = "correct horse battery"
DAY = date(2026, 11, 30)


@pytest.fixture
def roots(settings, tmp_path):
    settings.LOG_REPOSITORY_ROOTS = [tmp_path / "logroots"]
    return tmp_path / "logroots"


def add_directory(name="Primary", path="primary", **kwargs):
    return services.log_repository_add(name=name, kind="directory", path=path, retention_days=30, **kwargs)


def write(repository, records, day=DAY, session="s1"):
    with services.log_repository_open(repository) as store:
        return store.write_chunk(tenant="contoso", log_type="audit", day=day, session=session, records=records)


def test_a_directory_repository_is_checked_created_and_opened(db, roots):
    repository = add_directory(password=PASSWORD, password_hint="the usual vault")
    assert repository.path == str(roots / "primary") and (roots / "primary" / "keyinfo.json").is_file()
    assert repository.encryption == "password" and len(repository.key_id) == 32
    assert PASSWORD not in repository.sealed_password and repository.password_hint == "the usual vault"
    manifest = write(repository, audit_records(10))
    with services.log_repository_open(LogRepository.objects.get()) as store:
        assert store.read_chunk(manifest) == audit_records(10)


@pytest.mark.parametrize("path", ["../escape", "/etc/entrabackup", "primary/../../outside", ""])
def test_paths_outside_the_allowed_roots_are_refused_and_nothing_is_written(db, roots, tmp_path, path):
    with pytest.raises(RepositoryMisconfiguredError):
        add_directory(path=path)
    assert not LogRepository.objects.exists()
    assert not (tmp_path / "escape").exists() and not (tmp_path / "outside").exists()


def test_a_symlink_out_of_the_roots_is_refused(db, roots, tmp_path):
    roots.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (roots / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RepositoryMisconfiguredError, match="not inside an allowed directory"):
        add_directory(path="link")


def test_a_nearly_full_disk_is_refused_and_nothing_is_left(db, roots, settings):
    roots.mkdir()
    mountpoint = roots / "tiny"
    mountpoint.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mountpoint)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with pytest.raises(RepositoryMisconfiguredError, match="nearly full"):
            add_directory(path="tiny/logs")
        assert not LogRepository.objects.exists() and list(mountpoint.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


def test_an_existing_repository_is_adopted_only_with_its_password(db, roots):
    add_directory(password=PASSWORD)
    LogRepository.objects.all().delete()  # the configuration database was lost; the chunks were not
    with pytest.raises(LogRepositoryPasswordError, match="Wrong password"):
        add_directory(password="another password")
    assert add_directory(password=PASSWORD).key_id


def test_s3_repository_with_object_lock(db, s3):
    bucket = s3.new_bucket(object_lock=True)
    repository = services.log_repository_add(
        name="Bucket", kind="s3", endpoint_url=s3.endpoint_url, bucket=bucket, prefix="tenant-logs",
        access_key_id="AKIDTESTLOGREPO", secret_access_key="test-secret-access-key", path_style=True,
        object_lock_days=7, retention_days=30, password=PASSWORD)
    assert "test-secret-access-key" not in repository.sealed_secret_access_key
    manifest = write(repository, audit_records(10))
    head = s3.client().head_object(Bucket=bucket, Key=f"tenant-logs/{manifest.chunk}")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert services.log_repository_check(repository=repository).ok


def test_a_missing_bucket_is_refused_and_nothing_is_saved(db, s3):
    with pytest.raises(RepositoryMisconfiguredError, match="bucket does not exist"):
        services.log_repository_add(name="Nope", kind="s3", endpoint_url=s3.endpoint_url, bucket="no-such-bucket",
                                    access_key_id="k", secret_access_key="s3cr3t-value", path_style=True,
                                    retention_days=30)
    assert not LogRepository.objects.exists()


def test_an_unreachable_endpoint_is_unavailable(db):
    with pytest.raises(RepositoryUnavailableError, match="unreachable"):
        services.log_repository_add(name="Down", kind="s3", endpoint_url="http://127.0.0.1:9", bucket="logs",
                                    access_key_id="k", secret_access_key="s3cr3t-value", path_style=True,
                                    retention_days=30)


@pytest.mark.parametrize("endpoint, message", [("http://s3.example.com", "https"), ("ftp://x", "https"),
                                               ("https://user:pw@s3.example.com", "plain")])
def test_s3_endpoints_must_be_https_except_on_loopback(db, endpoint, message):
    with pytest.raises(RepositoryMisconfiguredError, match=message):
        services.log_repository_add(name="X", kind="s3", endpoint_url=endpoint, bucket="logs", access_key_id="k",
                                    secret_access_key="s", retention_days=30)


def test_the_health_check_records_damage(db, roots):
    repository = add_directory(password=PASSWORD)
    manifest = write(repository, audit_records(50))
    assert services.log_repository_check(repository=repository).ok
    repository.refresh_from_db()
    assert repository.check_ok and repository.usage_bytes > 0 and "50 records" in repository.check_summary
    chunk = roots / "primary" / manifest.chunk
    chunk.write_bytes(chunk.read_bytes()[:-10])
    report = services.log_repository_check(repository=repository)
    repository.refresh_from_db()
    assert not report.ok and repository.check_ok is False and manifest.chunk in repository.check_summary


def test_a_sealed_password_that_no_longer_opens_the_repository_is_a_clear_error(db, roots):
    repository = add_directory(password=PASSWORD)
    with services.log_repository_open(repository) as store:
        store.change_password(PASSWORD, "changed behind our back")
    with pytest.raises(LogRepositoryPasswordError, match="Log repository Primary: Wrong password"):
        services.log_repository_check(repository=repository)
    repository.refresh_from_db()
    assert repository.check_ok is False


def test_changing_the_password_rewrites_no_chunk_and_old_chunks_still_read(db, roots):
    repository = add_directory(password=PASSWORD)
    manifest = write(repository, audit_records(30))
    before = {p: p.read_bytes() for p in (roots / "primary").rglob("*") if p.is_file() and p.name != "keyinfo.json"}
    with pytest.raises(LogRepositoryPasswordError):
        services.log_repository_change_password(repository=repository, old_password="wrong one!",
                                                new_password="new password 42")
    services.log_repository_change_password(repository=repository, old_password=PASSWORD,
                                            new_password="new password 42", password_hint="changed in November")
    after = {p: p.read_bytes() for p in (roots / "primary").rglob("*") if p.is_file() and p.name != "keyinfo.json"}
    assert after == before and repository.password_hint == "changed in November"
    with services.log_repository_open(repository) as store:  # opened with the newly sealed password
        assert store.read_chunk(manifest) == audit_records(30)


def test_the_default_repository_is_created_once_under_var(db, roots):
    first = services.log_repository_default()
    assert first.path == str(roots / "default") and first.encryption == "none"
    assert services.log_repository_default().pk == first.pk
    LogRepository.objects.all().delete()
    assert services.log_repository_default().path == first.path  # its directory is adopted again


def test_retention_removes_whole_old_days(db, roots):
    repository = add_directory()
    write(repository, audit_records(5), day=date(2026, 10, 1))
    write(repository, audit_records(5, seed=2), day=date(2026, 11, 1))
    write(repository, audit_records(5, seed=3), day=DAY)
    removed = services.log_repository_prune(repository=repository, today=DAY)
    assert removed == {"contoso/audit": [date(2026, 10, 1)]}
    assert services.log_repository_check(repository=repository).ok


# Commands

def test_commands_add_list_and_check(db, roots, tmp_path):
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD + "\n")
    out = StringIO()
    call_command("log_repository_add", "--name", "Cold", "--kind", "directory", "--path", "cold",
                 "--retention-days", "90", "--encryption-password-file", str(password_file),
                 "--password-hint", "safe 2", stdout=out)
    assert "cannot be recovered" in out.getvalue() and PASSWORD not in out.getvalue()
    repository = LogRepository.objects.get(name="Cold")
    write(repository, audit_records(5))
    out = StringIO()
    call_command("log_repository_check", "--name", "cold", stdout=out)
    assert "all sound" in out.getvalue()
    call_command("log_repository_list", stdout=(listing := StringIO()))
    assert "Cold\tdirectory" in listing.getvalue() and "sound" in listing.getvalue()


@pytest.mark.parametrize("damage", ["damaged", "deleted", "replaced"])
def test_log_repository_check_exits_non_zero_on_damage(db, roots, damage):
    repository = add_directory()
    first = write(repository, audit_records(20))
    second = write(repository, audit_records(20, seed=2))
    write(repository, audit_records(20, seed=3))
    chunk = roots / "primary" / second.chunk
    if damage == "damaged":
        chunk.write_bytes(chunk.read_bytes()[:40])
    elif damage == "deleted":
        chunk.unlink()
        (roots / "primary" / second.path).unlink()
    else:  # someone with the keys writes a valid chunk with other records at the place of the first one
        forger = LogStore(services.log_repository_backend(repository), password=None)
        forger._heads[("contoso", "audit")] = (0, None)
        manifest_bytes = (roots / "primary" / first.path).read_bytes()
        forger.write_chunk(tenant="contoso", log_type="audit", day=DAY, session="s1", records=audit_records(3, seed=7))
        (roots / "primary" / first.path).write_bytes(manifest_bytes)
    out = StringIO()
    with pytest.raises(CommandError, match="is damaged"):
        call_command("log_repository_check", "--name", "Primary", stdout=out)
    assert damage.upper() in out.getvalue()


def test_log_repository_add_errors_are_one_line(db, roots):
    with pytest.raises(CommandError, match="not inside an allowed directory"):
        call_command("log_repository_add", "--name", "X", "--kind", "directory", "--path", "/etc",
                     "--retention-days", "30")
    with pytest.raises(CommandError, match="needs --bucket"):
        call_command("log_repository_add", "--name", "X", "--kind", "s3", "--retention-days", "30")
    with pytest.raises(CommandError, match="No log repository named"):
        call_command("log_repository_check", "--name", "nope")


# Pages

@pytest.fixture
def log_admin(django_user_model):
    return django_user_model.objects.create_superuser(username="lara", password="pw-for-tests-only")


def test_the_repositories_page_lists_log_repositories_and_the_cache(client, db, roots, log_admin, settings):
    add_directory(password=PASSWORD, password_hint="<script>alert(1)</script>")
    client.force_login(log_admin)
    page = client.get(reverse("repositories:repository_list")).content.decode()
    assert "Primary" in page and str(roots / "primary") in page and "30 days" in page
    assert str(settings.CACHE_DIR) in page and "<script>alert(1)" not in page


def test_the_add_page_warns_before_the_password_and_adds(client, db, roots, log_admin):
    client.force_login(log_admin)
    page = client.get(reverse("repositories:log_repository_add")).content.decode()
    assert page.index("cannot be recovered") < page.index('name="password"')
    data = {"name": "Web", "kind": "directory", "path": "web", "retention_days": 60, "encrypt": "on",
            "password": PASSWORD, "password_again": PASSWORD}
    answer = client.post(reverse("repositories:log_repository_add"), data)
    assert answer.status_code == 200 and "Confirm that you keep the password safe" in answer.content.decode()
    answer = client.post(reverse("repositories:log_repository_add"), {**data, "lost_password_understood": "on"})
    assert answer.status_code == 302 and LogRepository.objects.get().encryption == "password"


def test_the_add_page_shows_a_refusal_as_a_form_error(client, db, roots, log_admin):
    client.force_login(log_admin)
    answer = client.post(reverse("repositories:log_repository_add"),
                         {"name": "Bad", "kind": "directory", "path": "../../etc", "retention_days": 60})
    assert answer.status_code == 200 and "not inside an allowed directory" in answer.content.decode()
    assert not LogRepository.objects.exists()


def test_run_a_check_from_the_page(client, db, roots, log_admin):
    repository = add_directory()
    write(repository, audit_records(3))
    client.force_login(log_admin)
    answer = client.post(reverse("repositories:log_repository_check", args=[repository.pk]), follow=True)
    assert "all sound" in answer.content.decode()


@pytest.mark.parametrize("persona, expected", [
    ("admin_persona", [200, 302]), ("viewer_persona", [403, 403]), ("outsider_persona", [403, 403]),
])
def test_role_matrix_for_log_repository_pages(client, request, db, roots, persona, expected):
    repository = add_directory()
    client.force_login(request.getfixturevalue(persona))
    answers = [client.get(reverse("repositories:log_repository_add")).status_code,
               client.post(reverse("repositories:log_repository_check", args=[repository.pk])).status_code]
    assert answers == expected


def test_names_must_be_unique(db, roots):
    add_directory()
    with pytest.raises(RepositoryError, match="exists already"):
        add_directory(name="primary", path="other")


def test_the_password_change_command(db, roots, tmp_path):
    repository = add_directory(password=PASSWORD)
    manifest = write(repository, audit_records(4))
    (tmp_path / "old").write_text("not it at all")
    (tmp_path / "new").write_text("brand new password")
    with pytest.raises(CommandError, match="Wrong password"):
        call_command("log_repository_change_password", "--name", "Primary", "--old-password-file",
                     str(tmp_path / "old"), "--new-password-file", str(tmp_path / "new"))
    (tmp_path / "old").write_text(PASSWORD)
    call_command("log_repository_change_password", "--name", "Primary", "--old-password-file",
                 str(tmp_path / "old"), "--new-password-file", str(tmp_path / "new"), stdout=StringIO())
    store = LogStore(services.log_repository_backend(repository), password="brand new password")
    assert store.read_chunk(manifest) == audit_records(4)


def test_an_export_can_open_a_repository_with_a_password_given_at_hand(db, roots):
    repository = add_directory(password=PASSWORD)
    manifest = write(repository, audit_records(3))
    with services.log_repository_open(repository, password=PASSWORD) as store:
        assert store.read_chunk(manifest) == audit_records(3)
    with pytest.raises(LogRepositoryPasswordError, match="Wrong password"):
        with services.log_repository_open(repository, password="a guess, wrong"):
            pass


def test_two_log_repositories_never_share_storage(db, roots, s3):
    add_directory(path="group/primary")
    for path in ["group/primary", "group/primary/inner", "group", "other/../group/primary"]:
        with pytest.raises(RepositoryMisconfiguredError, match="overlaps log repository Primary"):
            add_directory(name="Second", path=path)
    assert add_directory(name="Sibling", path="group-2").pk
    bucket = s3.new_bucket()
    s3_args = {"kind": "s3", "endpoint_url": s3.endpoint_url, "bucket": bucket, "access_key_id": "AKIDTESTLOGREPO",
               "secret_access_key": "test-secret-access-key", "path_style": True, "retention_days": 30}
    services.log_repository_add(name="A", prefix="tenant-a", **s3_args)
    services.log_repository_add(name="B", prefix="tenant-b", **s3_args)
    with pytest.raises(RepositoryMisconfiguredError, match="overlaps log repository A"):
        services.log_repository_add(name="C", prefix="tenant-a/sub", **s3_args)
