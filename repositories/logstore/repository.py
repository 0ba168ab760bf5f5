"""A log repository: chunks of audit and sign-in records, their manifests, and the chain that links them.

Layout (every name validated; tenant data never reaches a path unchecked):

    keyinfo.json                                              encryption none, or the wrapped master key
    <tenant>/<log_type>/<yyyy>/<mm>/<dd>/<session>-<n>.jsonl.zst[.enc]   zstd NDJSON, sealed when encrypted
    <tenant>/<log_type>/<yyyy>/<mm>/<dd>/<session>-<n>.manifest.json     its manifest
    <tenant>/<log_type>/pruned.json                           the chain's anchors left by retention

    <tenant>/<log_type>/dictionaries/<id>.zdict[.enc]          the chain's compression dictionary

`n` is the chunk's place in the chain of its tenant and log type (1, 2, ...). Each manifest records the
sha-256 of the manifest before it, so a deleted or replaced chunk breaks the chain and verify() finds it;
the newest manifest (the head) is also recorded outside the repository when the repository is opened with
`heads` (heads.py), so removing the newest chunks is found too. The chunk is written before its manifest:
a chunk without a manifest is a leftover of a crash (reported, never read), a manifest without its chunk is
damage. One writer per tenant and log type at a time (recorded heads refuse a second one).
"""

import hashlib
import json
import logging
import re
from collections import defaultdict
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

import msgspec
import orjson
import zstandard

from repositories.logstore import dictionaries, keys
from repositories.logstore.backends import Backend
from repositories.logstore.errors import (
    ChainConflictError,
    ChunkDamagedError,
    LogRepositoryLayoutError,
    LogStoreError,
    ObjectNotFoundError,
)
from repositories.logstore.heads import ChainHeads, Head

logger = logging.getLogger(__name__)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_HASH = re.compile(r"^[0-9a-f]{64}$")
# 110 bytes per audit record in 5,000-record chunks at 1.5 µs of CPU per record here (level 3: 107 bytes at 1.9,
# level 1: 117 at 1.2); 9 saves 15% at a tenth of the speed. The floor is 120 (docs/benchmarks.md).
ZSTD_LEVEL = 2
# Chunks under SMALL_CHUNK records (15-minute sessions) are compressed with the chain's dictionary at a
# slower level: ~1,300 records/s here under load, and 500-record chunks go from ~132 to ~107 bytes per record.
SMALL_CHUNK, SMALL_LEVEL = 1000, 15
TIME_FIELDS = ("activityDateTime", "createdDateTime")
_CHUNK = re.compile(r"^(?P<tenant>[^/]+)/(?P<log_type>[^/]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
                    r"(?P<session>[A-Za-z0-9-]+)-(?P<n>\d+)\.(?P<suffix>jsonl\.zst|jsonl\.zst\.enc|manifest\.json)$")
PRUNED = "pruned.json"
COMPACTED = "compact-"  # the session name of compacted chunks begins so (compaction.py)


def check_name(value: str, what: str) -> str:
    """`value` if it is a plain name (letters, digits, hyphens; up to 64), else LogRepositoryLayoutError."""
    if not isinstance(value, str) or not NAME.match(value):
        raise LogRepositoryLayoutError(f"Not a valid {what}: {str(value)[:80]!r} (letters, digits and hyphens only).")
    return value


@dataclass(frozen=True)
class Manifest:
    """What a chunk holds and where it sits in its chain. `hash` is the sha-256 of the stored manifest."""

    tenant: str
    log_type: str
    day: date
    session: str
    n: int
    chunk: str
    records: int
    first_time: str | None
    last_time: str | None
    sha256: str
    size: int
    key_id: str | None
    previous: str | None
    created_at: str
    dictionary: str | None = None  # the id of the compression dictionary the chunk needs (dictionaries.py)
    # A compacted chunk only (compaction.py): the manifests it replaces, as links of the chain
    # ("n:session:records:sha-256[:previous]"), and the numbers of those whose records it holds, in order.
    replaces: tuple[str, ...] = ()
    merged: tuple[int, ...] = ()
    path: str = ""
    hash: str = ""

    def document(self) -> dict:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        del data["path"], data["hash"]
        if not self.replaces:  # an ordinary chunk's manifest stays as it was
            del data["replaces"], data["merged"]
        return {"format": keys.FORMAT, **data}

    @classmethod
    def parse(cls, path: str, blob: bytes) -> "Manifest":
        try:
            data = json.loads(blob)
            if data.pop("format") != keys.FORMAT:
                raise ValueError("format")
            data["day"] = date.fromisoformat(data["day"])
            data["replaces"] = tuple(data.get("replaces", ()))
            data["merged"] = tuple(data.get("merged", ()))
            manifest = cls(**data, path=path, hash=hashlib.sha256(blob).hexdigest())
            manifest.links()  # a compacted chunk's list of replaced links must parse
            return manifest
        except (ValueError, TypeError, KeyError) as exc:
            raise ChunkDamagedError(f"Manifest {path} is damaged ({type(exc).__name__}).") from None

    @property
    def base(self) -> str:
        """The path of the chunk and its manifest without the suffix."""
        return self.path.removesuffix(".manifest.json")

    def links(self) -> list["Link"]:
        """The chain links a compacted chunk stands in for (the manifests it replaced), in `n` order."""
        found, folder = [], self.path.rsplit("/", 1)[0]
        for entry in self.replaces:
            n, session, records, digest, *previous = entry.split(":")
            if not _HASH.match(digest) or not NAME.match(session) or len(previous) > 1:
                raise ValueError("replaces")
            if previous:
                before = None if previous[0] == "none" else previous[0]
            elif found and found[-1].n == int(n) - 1:  # left out when it is the link just before
                before = found[-1].hash
            else:
                raise ValueError("replaces")
            found.append(Link(int(n), digest, before, self.day, f"{folder}/{session}-{n}.manifest.json",
                              session, int(records)))
        return found


@dataclass(frozen=True)
class Link:
    """One link of a chain: a manifest (its number, its hash, the hash it links to); for a manifest a compacted
    chunk replaced, also where it was, its session and how many records it held."""

    n: int
    hash: str
    previous: str | None
    day: date
    path: str
    session: str = ""
    records: int = 0

    def entry(self, before: "Link | None") -> str:
        """The link as a compacted manifest lists it (`previous` left out when it is `before`'s hash)."""
        text = f"{self.n}:{self.session}:{self.records}:{self.hash}"
        chained = before is not None and before.n == self.n - 1 and before.hash == self.previous
        return text if chained else f"{text}:{self.previous or 'none'}"


@dataclass
class Problem:
    path: str
    reason: str

    def __str__(self):
        return f"{self.path}: {self.reason}"


@dataclass
class VerifyReport:
    """What verify() found. `ok` is false when anything is damaged, missing, replaced or deleted; orphaned
    chunks (written, then the writer stopped before their manifest) are reported but are not damage."""

    chunks: int = 0
    records: int = 0
    damaged: list[Problem] = field(default_factory=list)
    missing: list[Problem] = field(default_factory=list)
    replaced: list[Problem] = field(default_factory=list)
    deleted: list[Problem] = field(default_factory=list)
    orphaned: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.damaged or self.missing or self.replaced or self.deleted)

    def problems(self) -> list[tuple[str, Problem]]:
        return [(kind, problem) for kind in ("damaged", "missing", "replaced", "deleted", "orphaned")
                for problem in getattr(self, kind)]

    def summary(self) -> str:
        counts = ", ".join(f"{len(getattr(self, kind))} {kind}" for kind in
                           ("damaged", "missing", "replaced", "deleted", "orphaned") if getattr(self, kind))
        return f"{self.chunks} chunks, {self.records} records checked" + (f"; {counts}" if counts else "; all sound")


def to_ndjson(records: list[dict]) -> bytes:
    """The records as NDJSON, one compact JSON object per line, as chunks store them. msgspec writes the lines
    in one call, a quarter less CPU than orjson called per record (docs/benchmarks.md, "Log job pipeline");
    an encoder per call, as nothing promises one is safe to share between threads."""
    return msgspec.json.Encoder().encode_lines(records)


def lines(body: bytes) -> list[bytes]:
    """The lines of NDJSON, each with its newline (JSON text never holds a raw newline: it is escaped)."""
    return [line + b"\n" for line in body.split(b"\n")[:-1]]


class LogRepository:
    """An opened log repository. `LogRepository.create(...)` starts one in empty storage; opening needs the
    password it was created with (WrongPasswordError otherwise, before anything is read or written)."""

    def __init__(self, backend: Backend, *, password: str | None, heads: ChainHeads | None = None):
        self.backend, self.heads = backend, heads
        self.keyring = keys.open_keyinfo(self._keyinfo(), password)
        self.dictionaries = dictionaries.Dictionaries(backend, self.keyring)
        self._heads: dict[tuple[str, str], tuple[int, str | None]] = {}
        self._stored: dict[tuple[str, str], int] = {}  # records in a chain that has no dictionary yet
        self._compressors: dict[tuple[str | None, int], zstandard.ZstdCompressor] = {}

    @classmethod
    def create(cls, backend: Backend, *, password: str | None, scrypt_n: int = keys.SCRYPT_N,
               heads: ChainHeads | None = None) -> "LogRepository":
        """Write keyinfo.json into storage that holds no log repository yet, and return it opened."""
        if backend.exists(keys.KEYINFO):
            raise LogRepositoryLayoutError(f"{backend.describe()} holds a log repository already.")
        if any(not key.startswith(".") for key in backend.list()):
            raise LogRepositoryLayoutError(f"{backend.describe()} is not empty; choose an empty directory or prefix.")
        info, _ = keys.new_keyinfo(password, scrypt_n=scrypt_n)
        backend.put(keys.KEYINFO, keys.dumps(info), retain=False)
        return cls(backend, password=password, heads=heads)

    @property
    def key_id(self) -> str | None:
        return self.keyring.key_id

    def _keyinfo(self) -> dict:
        try:
            return json.loads(self.backend.get(keys.KEYINFO))
        except ObjectNotFoundError:
            raise LogRepositoryLayoutError(f"{self.backend.describe()} holds no log repository "
                                           "(keyinfo.json is missing).") from None
        except ValueError:
            raise LogRepositoryLayoutError(f"{self.backend.describe()}: keyinfo.json is damaged.") from None

    def change_password(self, old: str, new: str) -> None:
        """Wrap the master key with a new password. No chunk is rewritten; WrongPasswordError if `old` is wrong."""
        self.backend.put(keys.KEYINFO, keys.dumps(keys.rewrap(self._keyinfo(), old, new)), retain=False)

    # Writing

    def write_chunk(self, *, tenant: str, log_type: str, day: date, session: str, records: list[dict],
                    time_range: tuple[str, str] | None = None, ndjson: bytes | None = None) -> Manifest:
        """Store the records as one chunk of that day, then its manifest, linked to the chain's head.
        `time_range`: the records' first and last time as they wrote them, when the caller knows them (the
        session sorted them by time); else the manifest's range is found here. `ndjson`: to_ndjson(records),
        when the caller has it already."""
        check_name(tenant, "tenant"), check_name(log_type, "log type"), check_name(session, "session")
        if not records:
            raise LogStoreError("A chunk needs at least one record.")
        body = ndjson if ndjson is not None else to_ndjson(records)
        # Large chunks find their repeats themselves (the dictionary gains nothing there, and ZSTD_LEVEL is fast).
        small = len(records) < SMALL_CHUNK
        dictionary = self._dictionary_for(tenant, log_type, body) if small else None
        manifest = self.append(tenant=tenant, log_type=log_type, day=day, session=session, records=records,
                               ndjson=body, dictionary=dictionary, level=SMALL_LEVEL if small else ZSTD_LEVEL,
                               time_range=time_range)
        if (tenant, log_type) in self._stored:
            self._stored[(tenant, log_type)] += len(records)
        return manifest

    def append(self, *, tenant: str, log_type: str, day: date, session: str, records: list[dict], ndjson: bytes,
               dictionary: str | None, level: int, replaces: tuple[str, ...] = (),
               merged: tuple[int, ...] = (), time_range: tuple[str, str] | None = None) -> Manifest:
        """Write a chunk of `ndjson` (the records' NDJSON: to_ndjson(records)), then its manifest as the chain's next
        link, and record the new head. write_chunk and compaction write through here."""
        n, previous = self._head(tenant, log_type)
        self._refuse_moved_head(tenant, log_type, n, previous)
        n += 1
        base = f"{tenant}/{log_type}/{day:%Y/%m/%d}/{session}-{n}"
        chunk = base + (".jsonl.zst.enc" if self.keyring.encrypted else ".jsonl.zst")
        blob = self._compressor(tenant, log_type, dictionary, level).compress(ndjson)
        if self.keyring.encrypted:
            blob = self.keyring.seal(blob, aad=chunk)
        if time_range is None:
            first_field, second_field = TIME_FIELDS
            times = [t for t in (r.get(first_field) or r.get(second_field) for r in records) if isinstance(t, str)]
            time_range = (min(times, default=None), max(times, default=None))
        manifest = Manifest(tenant=tenant, log_type=log_type, day=day, session=session, n=n, chunk=chunk,
                            records=len(records), first_time=time_range[0],
                            last_time=time_range[1], sha256=hashlib.sha256(blob).hexdigest(),
                            size=len(blob), key_id=self.keyring.key_id, previous=previous,
                            created_at=datetime.now(UTC).isoformat(timespec="seconds"), dictionary=dictionary,
                            replaces=replaces, merged=merged)
        document = keys.dumps(manifest.document())
        self.backend.put(chunk, blob)
        self.backend.put(base + ".manifest.json", document)
        digest = hashlib.sha256(document).hexdigest()
        self._heads[(tenant, log_type)] = (n, digest)
        if self.heads is not None:  # after the manifest is stored: a recorded head always exists
            self.heads.advance(tenant, log_type, Head(n, digest), previous=Head(n - 1, previous) if previous else None)
        return Manifest(**{**asdict(manifest), "path": base + ".manifest.json", "hash": digest})

    def head(self, tenant: str, log_type: str) -> tuple[int, str | None]:
        """The chain's head: the number of its newest link and that manifest's sha-256 (0 and None: empty)."""
        return self._head(tenant, log_type)

    def _refuse_moved_head(self, tenant: str, log_type: str, n: int, previous: str | None) -> None:
        # Checked before anything is written: a second writer stops here rather than fork the chain.
        if self.heads is not None and self.heads.get(tenant, log_type) != (Head(n, previous) if previous else None):
            self._heads.pop((tenant, log_type), None)
            now = self.heads.get(tenant, log_type)
            raise ChainConflictError(f"The chain of {tenant}/{log_type} moved under this writer (its recorded head "
                                     f"is manifest {now.n if now else 'none'}, not {n}): another session writes it.")

    def _dictionary_for(self, tenant: str, log_type: str, body: bytes) -> str | None:
        """The chain's dictionary id; trained from this chunk (`body`, its NDJSON) and the stored ones once there
        are enough."""
        current = self.dictionaries.current(tenant, log_type)
        if current or self._stored.get((tenant, log_type)) == -1:
            return current
        if (tenant, log_type) not in self._stored:
            self._stored[(tenant, log_type)] = sum(m.records for m in self.manifests(tenant, log_type))
        samples = lines(body)
        if self._stored[(tenant, log_type)] + len(samples) < dictionaries.TRAIN_MIN_RECORDS:
            return None
        for manifest in self.manifests(tenant, log_type):
            if len(samples) >= dictionaries.TRAIN_MAX_RECORDS:
                break
            samples += lines(to_ndjson(self.read_chunk(manifest)))
        trained = self.dictionaries.train(tenant, log_type, samples)
        self._stored[(tenant, log_type)] = -1  # trained, or zstd found too little: either way not again
        return trained

    def _compressor(self, tenant: str, log_type: str, dictionary: str | None, level: int) -> zstandard.ZstdCompressor:
        if (dictionary, level) not in self._compressors:
            data = self.dictionaries.load(tenant, log_type, dictionary) if dictionary else None
            self._compressors[(dictionary, level)] = zstandard.ZstdCompressor(level=level, dict_data=data,
                                                                              write_checksum=True)
        return self._compressors[(dictionary, level)]

    def _head(self, tenant: str, log_type: str) -> tuple[int, str | None]:
        # The chain's last link: the highest n among the manifests, or the one retention removed last; or
        # the recorded head when that is newer (the newest chunks are gone: the chain goes on from the
        # recorded head, so the gap stays visible to verify()).
        if (tenant, log_type) not in self._heads:
            head = self._listed_head(tenant, log_type)
            if self.heads is not None:
                recorded = self.heads.get(tenant, log_type)
                if recorded is not None and recorded.n > head[0]:
                    head = (recorded.n, recorded.hash)
                elif head[1] is not None and Head(*head) != recorded:
                    # Written by a version without recorded heads, or stopped between manifest and record.
                    self.heads.advance(tenant, log_type, Head(*head), previous=recorded)
            self._heads[(tenant, log_type)] = head
        return self._heads[(tenant, log_type)]

    def _listed_head(self, tenant: str, log_type: str) -> tuple[int, str | None]:
        paths = self._manifest_paths(tenant, log_type)
        pruned = self._pruned(tenant, log_type)
        head = (0, None)
        if pruned.get("head"):
            head = (pruned["head"]["n"], pruned["head"]["hash"])
        if paths:
            last = max(paths, key=lambda p: int(_CHUNK.match(p)["n"]))
            if int(_CHUNK.match(last)["n"]) > head[0]:
                head = (int(_CHUNK.match(last)["n"]), hashlib.sha256(self.backend.get(last)).hexdigest())
        return head

    # Reading

    def _manifest_paths(self, tenant: str, log_type: str, day: date | None = None) -> list[str]:
        prefix = f"{check_name(tenant, 'tenant')}/{check_name(log_type, 'log type')}"
        if day is not None:  # one day's folder: a short listing of a long chain
            prefix += f"/{day:%Y/%m/%d}"
        return [key for key in self.backend.list(prefix) if key.endswith(".manifest.json") and _CHUNK.match(key)]

    def manifests(self, tenant: str, log_type: str, start: date | None = None, end: date | None = None, *,
                  skip: Collection[str] = ()) -> list[Manifest]:
        """The manifests of the tenant's log type, of days from `start` to `end` (inclusive), in chain order;
        manifests whose path is in `skip` are not even read (a caller that knows them already). Manifests a
        compacted chunk replaced (a compaction not finished yet) are left out: each record is listed once."""
        found = []
        for path in self._manifest_paths(tenant, log_type, start if start is not None and start == end else None):
            day = _day_of(path)
            compacted = _CHUNK.match(path)["session"].startswith(COMPACTED)  # read even when skipped: it hides
            if (path not in skip or compacted) and (start is None or day >= start) and (end is None or day <= end):
                found.append(Manifest.parse(path, self.backend.get(path)))
        replaced = {link.hash for manifest in found for link in manifest.links()}
        return sorted((m for m in found if m.hash not in replaced and m.path not in skip), key=lambda m: m.n)

    def read_chunk(self, manifest: Manifest) -> list[dict]:
        """The records of a chunk, after checking its sha-256 and decrypting; ChunkDamagedError otherwise."""
        try:
            blob = self.backend.get(manifest.chunk)
        except ObjectNotFoundError:
            raise ChunkDamagedError(f"Chunk {manifest.chunk} is missing (its manifest is there).") from None
        if hashlib.sha256(blob).hexdigest() != manifest.sha256:
            raise ChunkDamagedError(f"Chunk {manifest.chunk} does not match the sha-256 in its manifest.")
        return self._decode(manifest, blob)

    def _decode(self, manifest: Manifest, blob: bytes) -> list[dict]:
        chunk = manifest.chunk
        if manifest.key_id != self.keyring.key_id:
            raise ChunkDamagedError(f"Chunk {chunk} was written with key {manifest.key_id}, not this repository's key.")
        if self.keyring.encrypted:
            blob = self.keyring.open(blob, aad=chunk)
        data = (self.dictionaries.load(manifest.tenant, manifest.log_type, manifest.dictionary)
                if manifest.dictionary else None)
        try:
            text = zstandard.ZstdDecompressor(dict_data=data).decompress(blob)
            return [orjson.loads(line) for line in text.splitlines() if line]
        except (zstandard.ZstdError, orjson.JSONDecodeError):
            raise ChunkDamagedError(f"Chunk {chunk} does not decompress into records.") from None

    def tenants(self) -> list[str]:
        return sorted({key.split("/")[0] for key in self.backend.list() if _CHUNK.match(key)})

    def log_types(self, tenant: str) -> list[str]:
        return sorted({key.split("/")[1] for key in self.backend.list(check_name(tenant, "tenant")) if _CHUNK.match(key)})

    def chunk_counts(self) -> dict[str, int]:
        """Chunks per tenant folder (manifests not counted)."""
        counts: dict[str, int] = {}
        for key in self.backend.list():
            match = _CHUNK.match(key)
            if match and match["suffix"] != "manifest.json":
                counts[match["tenant"]] = counts.get(match["tenant"], 0) + 1
        return counts

    def erase(self) -> int:
        """Delete every object of the repository (chunks, manifests, dictionaries, its key); returns how many.
        An object under S3 object lock refuses, and the erase stops there with that error."""
        keys = self.backend.list()
        for key in keys:
            self.backend.delete(key)
        return len(keys)

    # Health check and retention

    def verify(self, tenant: str | None = None) -> VerifyReport:
        """Re-read every manifest and chunk (of one tenant, or all): hashes, decryption, dictionaries and
        the chain, and (with recorded heads) that the newest manifest is the head recorded for the chain."""
        report = VerifyReport()
        recorded = self.heads.all() if self.heads is not None else {}
        chains = {(name, log_type) for name in ([check_name(tenant, "tenant")] if tenant else self.tenants())
                  for log_type in self.log_types(name)}
        chains |= {chain for chain in recorded if tenant is None or chain[0] == tenant}
        for name, log_type in sorted(chains):
            manifests = self._verify_chain(name, log_type, report)
            if self.heads is not None:
                self._verify_head(name, log_type, manifests, recorded.get((name, log_type)), report)
        return report

    def _verify_chain(self, tenant: str, log_type: str, report: VerifyReport) -> None:
        keys_by_base = defaultdict(set)
        for key in self.backend.list(f"{tenant}/{log_type}"):
            match = _CHUNK.match(key)
            if match:
                keys_by_base[key[: -len(match["suffix"]) - 1]].add(key)
        manifests = []
        for base, present in sorted(keys_by_base.items()):
            path = base + ".manifest.json"
            if path not in present:
                report.orphaned.extend(Problem(key, "chunk without a manifest (a write that did not finish)")
                                       for key in sorted(present))
                continue
            try:
                manifests.append(Manifest.parse(path, self.backend.get(path)))
            except (ChunkDamagedError, ObjectNotFoundError) as exc:
                report.damaged.append(Problem(path, str(exc)))
        # A compacted chunk's manifest stands in for the links it replaced, so the chain verifies link by link
        # as it was written; the replaced manifests still there (a compaction not finished) are not damage.
        stand_ins = {link.hash: (link, m) for m in manifests for link in m.links()}
        live = []
        for manifest in manifests:
            if manifest.hash in stand_ins:
                report.orphaned.append(Problem(manifest.path, f"replaced by the compacted chunk "
                                               f"{stand_ins[manifest.hash][1].chunk}; the next compaction removes it"))
            else:
                live.append(manifest)
        self._verify_dictionaries(tenant, log_type, {m.dictionary for m in live if m.dictionary}, report)
        for manifest in live:
            self._verify_chunk(manifest, report)
            if manifest.merged:
                _verify_merged(manifest, report)
        links = sorted([*live, *(link for link, _ in stand_ins.values())], key=lambda m: m.n)
        self._verify_links(tenant, log_type, links, report)
        return sorted(live, key=lambda m: m.n)

    def _verify_dictionaries(self, tenant: str, log_type: str, used: set[str], report: VerifyReport) -> None:
        stored = {key.rsplit("/", 1)[1].split(".")[0] for key in self.backend.list(f"{tenant}/{log_type}/{dictionaries.FOLDER}")}
        for dictionary in sorted(used | stored):
            try:
                self.dictionaries.load(tenant, log_type, dictionary)
            except ChunkDamagedError as exc:
                kind = report.missing if dictionary not in stored else report.damaged
                kind.append(Problem(f"{tenant}/{log_type}/{dictionaries.FOLDER}/{dictionary}", str(exc)))

    def _verify_head(self, tenant: str, log_type: str, manifests: list[Manifest], recorded: Head | None,
                     report: VerifyReport) -> None:
        """Compare the newest manifest with the head recorded outside the repository."""
        listed = self._listed_head(tenant, log_type)
        if recorded is not None and recorded.n > listed[0]:
            first = listed[0] + 1
            numbers = f"number {first}" if first == recorded.n else f"numbers {first} to {recorded.n}"
            report.missing.append(Problem(f"{tenant}/{log_type}", f"the newest chunks of the chain ({numbers}) are "
                                          f"missing with their manifests: manifest {recorded.n} was recorded as "
                                          "the chain's head"))
        elif recorded is not None and recorded.n == listed[0] and recorded.hash != listed[1]:
            newest = next((m.path for m in manifests if m.n == recorded.n), f"{tenant}/{log_type}")
            report.replaced.append(Problem(newest, "the newest manifest is not the one recorded as the chain's head"))
        elif listed[1] is not None and Head(*listed) != recorded:
            # The first check of a chain written before heads were recorded (or a writer stopped between
            # its manifest and the record): from now on this is the head. A writer at work may have moved
            # it further meanwhile: then its record stands.
            try:
                self.heads.advance(tenant, log_type, Head(*listed), previous=recorded)
            except ChainConflictError:
                pass

    def _verify_chunk(self, manifest: Manifest, report: VerifyReport) -> None:
        report.chunks += 1
        try:
            blob = self.backend.get(manifest.chunk)
        except ObjectNotFoundError:
            report.missing.append(Problem(manifest.chunk, "the chunk is missing; its manifest is there"))
            return
        try:
            records = self._decode(manifest, blob)
        except ChunkDamagedError as exc:
            report.damaged.append(Problem(manifest.chunk, str(exc)))
            return
        if hashlib.sha256(blob).hexdigest() != manifest.sha256 or len(records) != manifest.records:
            report.replaced.append(Problem(manifest.chunk, "a readable chunk whose sha-256 is not the one in its "
                                                           "manifest: its content was replaced"))
            return
        report.records += len(records)

    def _verify_links(self, tenant: str, log_type: str, manifests: list[Manifest], report: VerifyReport) -> None:
        pruned = self._pruned(tenant, log_type)
        anchors = set(pruned.get("anchors", []))
        # Days before pruned_before are being removed (an interrupted prune finishes on the next run).
        cut = date.fromisoformat(pruned["pruned_before"]) if pruned.get("pruned_before") else date.min
        previous: Manifest | None = None
        for manifest in (m for m in manifests if m.day >= cut):
            expected = previous.hash if previous else None
            if previous and manifest.n == previous.n:
                report.replaced.append(Problem(manifest.path, f"a second manifest with number {manifest.n}"))
            elif manifest.previous != expected and manifest.previous not in anchors:
                gap = f"after {previous.path}" if previous else "at the start of the chain"
                kind = "deleted" if previous is None or manifest.n > previous.n + 1 else "replaced"
                reason = ("manifests are missing " + gap if kind == "deleted"
                          else f"the manifest before it ({previous.path}) is not the one it was linked to")
                getattr(report, kind).append(Problem(manifest.path, reason))
            previous = manifest

    def _pruned(self, tenant: str, log_type: str) -> dict:
        try:
            return json.loads(self.backend.get(f"{tenant}/{log_type}/{PRUNED}"))
        except ObjectNotFoundError:
            return {}
        except ValueError:
            raise LogRepositoryLayoutError(f"{tenant}/{log_type}/{PRUNED} is damaged.") from None

    def prune(self, tenant: str, log_type: str, before: date) -> list[date]:
        """Remove every whole day before `before` and return those days.

        The hashes of removed manifests that a kept manifest links to (and the removed head, if everything
        went) are recorded first in pruned.json, so the chain still verifies after retention.
        """
        manifests = self.manifests(tenant, log_type)
        gone = [m for m in manifests if m.day < before]
        if not gone:
            return []
        links = chain_links(manifests)  # a kept link may point at a link a compacted chunk of a gone day replaced
        kept_links = {m.previous for m in links if m.day >= before}
        state = self._pruned(tenant, log_type)
        anchors = set(state.get("anchors", [])) | {m.hash for m in links if m.day < before and m.hash in kept_links}
        head = max(manifests, key=lambda m: m.n)
        if head.day < before:
            state["head"] = {"n": head.n, "hash": head.hash}
            anchors.add(head.hash)
        state["anchors"] = sorted(anchors)
        state["pruned_before"] = max(before.isoformat(), state.get("pruned_before", ""))
        self.backend.put(f"{tenant}/{log_type}/{PRUNED}", keys.dumps(state), retain=False)
        days = sorted({m.day for m in gone})
        prefixes = [f"{tenant}/{log_type}/{day:%Y/%m/%d}" for day in days]
        for prefix in prefixes:
            # Manifests first: a prune stopped halfway leaves chunks without manifests, never the reverse.
            listed = self.backend.list(prefix)
            for key in sorted(listed, key=lambda k: not k.endswith(".manifest.json")):
                self.backend.delete(key)
        self._heads.pop((tenant, log_type), None)
        logger.info("Log repository %s: %s days of %s/%s removed", self.backend.describe(), len(days), tenant, log_type)
        return days


def chain_links(manifests: list[Manifest]) -> list[Manifest | Link]:
    """The links of a chain: the manifests, and the links their compacted chunks stand in for, in `n` order."""
    return sorted([*manifests, *(link for m in manifests for link in m.links())], key=lambda m: m.n)


def _verify_merged(manifest: Manifest, report: VerifyReport) -> None:
    """A compacted chunk holds exactly the records of the chunks it names as merged."""
    counts = {link.n: link.records for link in manifest.links()}
    if not set(manifest.merged) <= set(counts) or sum(counts[n] for n in manifest.merged) != manifest.records:
        report.damaged.append(Problem(manifest.path, "the compacted chunk's record count is not the sum of the "
                                                     "chunks its manifest says it merged"))


def _day_of(path: str) -> date:
    match = _CHUNK.match(path)
    return date(int(match["y"]), int(match["m"]), int(match["d"]))
