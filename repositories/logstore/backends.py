"""Where a log repository's objects live: a directory, or a bucket of S3-compatible object storage.

Both backends store opaque objects under keys such as `contoso/audit/2026/11/30/s1-4.jsonl.zst`. A put is
atomic: a reader sees the whole object or nothing, never a half-written one. Failures are LogStoreError
subclasses: BackendUnavailableError (try again later) or BackendRefusedError (someone must change something).
"""

import errno
import logging
import os
import re
import secrets
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import boto3
import botocore.exceptions
from botocore.config import Config

from repositories.logstore.errors import (
    BackendRefusedError,
    BackendUnavailableError,
    LogRepositoryLayoutError,
    ObjectNotFoundError,
)

logger = logging.getLogger(__name__)

_SEGMENT = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9._-]{0,127}$")
_PROBE_PREFIX = ".probe-"
_TMP_PREFIX = ".tmp-"


class Backend(Protocol):
    """The operations a log repository needs from its storage."""

    def put(self, key: str, data: bytes, *, retain: bool = True) -> None: ...
    def get(self, key: str) -> bytes: ...
    def list(self, prefix: str = "") -> list[str]: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def free_bytes(self) -> int | None: ...
    def size_bytes(self) -> int: ...
    def check_writable(self) -> None: ...
    def describe(self) -> str: ...


def check_key(key: str) -> str:
    """The key if every segment is a plain name (no '..', no absolute path, no hidden or odd characters)."""
    parts = key.split("/")
    if not key or not all(_SEGMENT.match(part) and part not in (".", "..") for part in parts):
        raise LogRepositoryLayoutError(f"Not a valid object key: {key[:200]!r}")
    return key


def open_backend(spec: dict) -> Backend:
    """The backend a spec describes: {"kind": "directory", "path": ...} or {"kind": "s3", ...S3Backend args}."""
    kind = spec.get("kind")
    if kind == "directory":
        return DirectoryBackend(Path(spec["path"]))
    if kind == "s3":
        args = {name: spec.get(name) for name in ("endpoint_url", "bucket", "prefix", "region", "access_key_id",
                                                   "secret_access_key", "object_lock_days")}
        return S3Backend(**args, path_style=bool(spec.get("path_style")))
    raise LogRepositoryLayoutError(f"Unknown log repository kind: {str(kind)[:40]!r}")


class DirectoryBackend:
    """Objects as files under a root directory (local disk or a mounted share).

    A put writes a hidden temporary file beside the target, fsyncs it, renames it over the target and
    fsyncs the directory, so a crash leaves the old object or the new one, plus at worst a `.tmp-` file
    that listings ignore.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def describe(self) -> str:
        return f"directory {self.root}"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put(self, key: str, data: bytes, *, retain: bool = True) -> None:
        path = self._path(key)
        tmp = path.with_name(f"{_TMP_PREFIX}{path.name}-{secrets.token_hex(6)}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
            _fsync_directory(path.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise self._error(exc, f"cannot write {key}") from None

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFoundError(f"{key} is missing from {self.describe()}") from None
        except OSError as exc:
            raise self._error(exc, f"cannot read {key}") from None

    def list(self, prefix: str = "") -> list[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not base.is_dir():
            return []
        keys = []
        for folder, dirs, files in os.walk(base):
            dirs[:] = [name for name in dirs if not name.startswith(".")]
            relative = Path(folder).relative_to(self.root)
            keys.extend((relative / name).as_posix() for name in files if not name.startswith("."))
        return sorted(keys)

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise self._error(exc, f"cannot delete {key}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def free_bytes(self) -> int | None:
        try:
            return shutil.disk_usage(self.root).free
        except OSError as exc:
            raise self._error(exc, "cannot read its free space") from None

    def size_bytes(self) -> int:
        """The bytes the repository's files take (what the Repositories page shows as usage)."""
        return sum(self._path(key).stat().st_size for key in self.list() if self._path(key).is_file())

    def check_writable(self) -> None:
        """Create the root if needed, then write, read back and delete a probe file."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error(exc, "cannot create the directory") from None
        if not self.root.is_dir():
            raise BackendRefusedError(f"{self.describe()}: it is not a directory.")
        _probe(self)

    def _error(self, exc: OSError, what: str) -> Exception:
        reason = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exhausted",
                  errno.EACCES: "permission denied", errno.EPERM: "permission denied",
                  errno.EROFS: "the file system is read-only", errno.ENOTDIR: "a path component is not a directory",
                  }.get(exc.errno)
        if reason is None:
            return BackendUnavailableError(f"{self.describe()}: {what}: {exc.strerror or type(exc).__name__}.")
        return BackendRefusedError(f"{self.describe()}: {what}: {reason}.")


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _probe(backend: Backend) -> None:
    key = f"{_PROBE_PREFIX}{secrets.token_hex(8)}"
    payload = secrets.token_bytes(64)
    backend.put(key, payload, retain=False)
    try:
        if backend.get(key) != payload:
            raise BackendRefusedError(f"{backend.describe()}: a probe written there read back differently.")
    finally:
        backend.delete(key)


# S3 error codes and what they mean for the operator; anything else is reported with its code.
_S3_REFUSALS = {
    "NoSuchBucket": "the bucket does not exist",
    "404": "the bucket does not exist",
    "AccessDenied": "access denied (the credentials may not do this, or the object is locked)",
    "403": "access denied (wrong credentials or no permission on the bucket)",
    "InvalidAccessKeyId": "the access key id is not known to the server",
    "SignatureDoesNotMatch": "the secret access key is wrong",
    "InvalidBucketName": "the bucket name is not valid",
    "ObjectLockConfigurationNotFoundError": "object lock is not enabled on the bucket",
    "InvalidRequest": "the server refused the request",
    "QuotaExceeded": "the storage quota is exhausted",
}


class S3Backend:
    """Objects in a bucket of S3-compatible storage, under an optional prefix.

    With `object_lock_days`, every chunk and manifest is written with COMPLIANCE retention for that many
    days, so nobody (not even the account's root) can delete or overwrite that version before it expires.
    The bucket must have object lock enabled (checked by check_writable).
    """

    def __init__(self, endpoint_url: str | None, bucket: str, prefix: str | None = "", region: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None, path_style: bool = False,
                 object_lock_days: int | None = None):
        self.endpoint_url, self.bucket = endpoint_url or None, bucket
        self.prefix = (prefix or "").strip("/")
        if self.prefix:
            check_key(self.prefix)
        self.object_lock_days = object_lock_days or None
        config = Config(s3={"addressing_style": "path" if path_style else "virtual"}, connect_timeout=10,
                        read_timeout=60, retries={"max_attempts": 3, "mode": "standard"})
        self.client = boto3.client("s3", endpoint_url=self.endpoint_url, region_name=region or "us-east-1",
                                   aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                                   config=config)

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"bucket {self.bucket}{'/' + self.prefix if self.prefix else ''}{where}"

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, *, retain: bool = True) -> None:
        extra = {}
        if retain and self.object_lock_days:
            until = datetime.now(UTC) + timedelta(days=self.object_lock_days)
            extra = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}
        self._call(f"cannot write {key}", self.client.put_object, Bucket=self.bucket, Key=self._key(key),
                   Body=data, **extra)

    def get(self, key: str) -> bytes:
        answer = self._call(f"cannot read {key}", self.client.get_object, Bucket=self.bucket, Key=self._key(key),
                            missing=key)
        return answer["Body"].read()

    def list(self, prefix: str = "") -> list[str]:
        full = self._key(prefix.rstrip("/")) + "/" if prefix.strip("/") else (f"{self.prefix}/" if self.prefix else "")
        keys = []
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call("cannot list objects", lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=full)))
        for page in pages:
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) + 1:] if self.prefix else item["Key"]
                if not key.split("/")[-1].startswith("."):
                    keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        # On a versioned (object-lock) bucket this adds a delete marker; locked versions stay until they expire.
        self._call(f"cannot delete {key}", self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self._call(f"cannot look up {key}", self.client.head_object, Bucket=self.bucket, Key=self._key(key),
                       missing=key)
        except ObjectNotFoundError:
            return False
        return True

    def free_bytes(self) -> int | None:
        return None

    def size_bytes(self) -> int:
        full = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call("cannot list objects", lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=full)))
        return sum(item["Size"] for page in pages for item in page.get("Contents", []))

    def check_writable(self) -> None:
        """The bucket exists and accepts these credentials (and has object lock when asked), and a probe
        object can be written, read back and deleted."""
        self._call("cannot open the bucket", self.client.head_bucket, Bucket=self.bucket)
        if self.object_lock_days:
            answer = self._call("cannot read the bucket's object lock setting",
                                self.client.get_object_lock_configuration, Bucket=self.bucket)
            if answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
                raise BackendRefusedError(f"{self.describe()}: object lock is not enabled on the bucket.")
        _probe(self)

    def _call(self, what: str, method, *args, missing: str | None = None, **kwargs):
        try:
            return method(*args, **kwargs)
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if missing is not None and code in ("NoSuchKey", "404", "NotFound"):
                raise ObjectNotFoundError(f"{missing} is missing from {self.describe()}") from None
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in _S3_REFUSALS or 400 <= status < 500:
                reason = _S3_REFUSALS.get(code, f"the server refused ({code or status})")
                raise BackendRefusedError(f"{self.describe()}: {what}: {reason}.") from None
            raise BackendUnavailableError(f"{self.describe()}: {what}: the server failed ({code or status}).") from None
        except botocore.exceptions.NoCredentialsError:
            raise BackendRefusedError(f"{self.describe()}: {what}: no credentials given.") from None
        except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError,
                botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectionClosedError) as exc:
            raise BackendUnavailableError(f"{self.describe()}: {what}: the endpoint is unreachable "
                                          f"({type(exc).__name__}).") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise BackendUnavailableError(f"{self.describe()}: {what}: {type(exc).__name__}.") from None
