"""Compression dictionaries: one per tenant and log type, trained from the chain's first records.

Small chunks (a 15-minute session of a quiet tenant writes tens to hundreds of records) compress badly on
their own: most of a record is field names and values that repeat across records, and a small chunk has
few records to find them in. A zstd dictionary trained on earlier records of the same tenant and log type
supplies them. It is stored beside the chunks (`<tenant>/<log_type>/dictionaries/<id>.zdict[.enc]`, sealed
like a chunk when the repository is encrypted, under object lock like a chunk), its id is the sha-256 of
its bytes (first 32 hex digits) and each manifest names the dictionary its chunk needs, so every chunk
stays readable and a damaged or missing dictionary is found by verify(). A chain trains once, when it holds
TRAIN_MIN_RECORDS records; chunks written before that need no dictionary.
"""

import hashlib
import re

import zstandard

from repositories.logstore.backends import Backend
from repositories.logstore.errors import ChunkDamagedError, ObjectNotFoundError
from repositories.logstore.keys import Keyring

FOLDER = "dictionaries"
TRAIN_MIN_RECORDS, TRAIN_MAX_RECORDS = 1000, 5000
SIZE = 32 * 1024  # larger dictionaries gained nothing on audit records (docs/benchmarks.md)
_ID = re.compile(r"^[0-9a-f]{32}$")


class Dictionaries:
    """The dictionaries of one opened repository, loaded once each."""

    def __init__(self, backend: Backend, keyring: Keyring):
        self.backend, self.keyring = backend, keyring
        self._loaded: dict[str, zstandard.ZstdCompressionDict] = {}
        self._current: dict[tuple[str, str], str | None] = {}

    def path(self, tenant: str, log_type: str, dictionary_id: str) -> str:
        if not _ID.match(dictionary_id or ""):
            raise ChunkDamagedError(f"{tenant}/{log_type}: {str(dictionary_id)[:40]!r} is not a dictionary id.")
        suffix = ".zdict.enc" if self.keyring.encrypted else ".zdict"
        return f"{tenant}/{log_type}/{FOLDER}/{dictionary_id}{suffix}"

    def current(self, tenant: str, log_type: str) -> str | None:
        """The id of the chain's dictionary, or None while it has none."""
        if (tenant, log_type) not in self._current:
            found = sorted(key.rsplit("/", 1)[1].split(".")[0] for key in self.backend.list(f"{tenant}/{log_type}/{FOLDER}"))
            self._current[(tenant, log_type)] = next((name for name in found if _ID.match(name)), None)
        return self._current[(tenant, log_type)]

    def load(self, tenant: str, log_type: str, dictionary_id: str) -> zstandard.ZstdCompressionDict:
        """The dictionary, after checking its hash; ChunkDamagedError when it is missing or damaged."""
        if dictionary_id not in self._loaded:
            path = self.path(tenant, log_type, dictionary_id)
            try:
                blob = self.backend.get(path)
            except ObjectNotFoundError:
                raise ChunkDamagedError(f"Dictionary {path} is missing (chunks that need it cannot be read).") from None
            data = self.keyring.open(blob, aad=path) if self.keyring.encrypted else blob
            if hashlib.sha256(data).hexdigest()[:32] != dictionary_id:
                raise ChunkDamagedError(f"Dictionary {path} does not match its id (damaged or replaced).")
            self._loaded[dictionary_id] = zstandard.ZstdCompressionDict(data)
        return self._loaded[dictionary_id]

    def train(self, tenant: str, log_type: str, samples: list[bytes]) -> str | None:
        """Train the chain's dictionary from NDJSON lines and store it; None when zstd finds too little."""
        try:
            # Fixed k and d: the parameter search zstd does otherwise takes 10 s and gains under 1 %.
            trained = zstandard.train_dictionary(SIZE, samples[:TRAIN_MAX_RECORDS], k=1024, d=8, threads=1)
        except zstandard.ZstdError:
            return None
        data = trained.as_bytes()
        dictionary_id = hashlib.sha256(data).hexdigest()[:32]
        path = self.path(tenant, log_type, dictionary_id)
        self.backend.put(path, self.keyring.seal(data, aad=path) if self.keyring.encrypted else data)
        self._loaded[dictionary_id] = zstandard.ZstdCompressionDict(data)
        self._current[(tenant, log_type)] = dictionary_id
        return dictionary_id
