"""The log store: audit and sign-in records kept as compressed, optionally encrypted chunk files with
chained manifests, in a directory or an S3 bucket. Django-free; see docs/log-repositories.md."""

from repositories.logstore.backends import Backend, DirectoryBackend, S3Backend, check_key, open_backend
from repositories.logstore.errors import (
    BackendRefusedError,
    BackendUnavailableError,
    ChainConflictError,
    ChunkDamagedError,
    LogRepositoryLayoutError,
    LogStoreError,
    ObjectNotFoundError,
    WrongPasswordError,
)
from repositories.logstore.heads import ChainHeads, Head, MemoryHeads
from repositories.logstore.repository import LogRepository, Manifest, Problem, VerifyReport, check_name

__all__ = [
    "Backend", "BackendRefusedError", "BackendUnavailableError", "ChainConflictError", "ChainHeads",
    "ChunkDamagedError", "DirectoryBackend", "Head", "MemoryHeads",
    "LogRepository", "LogRepositoryLayoutError", "LogStoreError", "Manifest", "ObjectNotFoundError", "Problem",
    "S3Backend", "VerifyReport", "WrongPasswordError", "check_key", "check_name", "open_backend",
]
