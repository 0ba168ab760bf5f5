"""The hash chain of the audit trail: appending an entry under the chain's lock, and verifying the chain.

Each entry's hash is sha-256 over the previous entry's hash and the entry's canonical content (every
column but `hash`, as sorted JSON). Editing a row changes its content, so its hash no longer matches;
deleting or inserting a row breaks the link of the row after it (and the ids, which have no gaps); removing
the newest rows leaves the chain head pointing past the end. Someone who rewrites every hash from the edit
onwards is caught only by a head recorded elsewhere: `audit_trail_verify` prints the head to keep.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC

from django.db import connection, transaction
from django.utils import timezone

from audittrail.models import ChainHead, Entry

GENESIS = "0" * 64
HASHED_FIELDS = ("id", "at", "actor", "user_id", "username", "command", "os_user", "action", "target", "tenant_id",
                 "tenant_name", "result", "detail", "ip", "user_agent", "host", "prev_hash")
MAX_PROBLEMS = 100


def entry_hash(values: dict) -> str:
    """sha-256 (hex) of an entry given as a dict of HASHED_FIELDS (`at` an aware datetime)."""
    content = {name: values[name] for name in HASHED_FIELDS}
    content["at"] = values["at"].astimezone(UTC).isoformat()
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def append(values: dict) -> Entry:
    """Add an entry (values: every field but id, at, prev_hash and hash) at the end of the chain.

    The head row stays locked until the caller's transaction ends, so concurrent writers join the chain one
    after the other, and an entry rolled back with its transaction leaves neither a row nor a gap. The time
    is taken under the lock, so ids and times rise together (the page turns a time range into ids).
    """
    with connection.cursor() as cursor:
        # The head row is created on first use (a flushed test database has none either).
        cursor.execute("INSERT INTO audittrail_chainhead (id, last_id, last_hash) VALUES (1, 0, %s) "
                       "ON CONFLICT (id) DO NOTHING", [GENESIS])
        cursor.execute("SELECT last_id, last_hash FROM audittrail_chainhead WHERE id = 1 FOR UPDATE")
        last_id, last_hash = cursor.fetchone()
    entry = Entry(id=last_id + 1, at=timezone.now(), prev_hash=last_hash, **values)
    entry.hash = entry_hash({name: getattr(entry, name) for name in HASHED_FIELDS})
    entry.save(force_insert=True)
    ChainHead.objects.filter(pk=1).update(last_id=entry.id, last_hash=entry.hash)
    return entry


@dataclass
class Verification:
    """What `verify` found: how many entries it checked and every break it saw (the first MAX_PROBLEMS)."""

    checked: int = 0
    head_id: int = 0
    head_hash: str = GENESIS
    problems: list[tuple[int | None, str]] = field(default_factory=list)
    more_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, entry_id: int | None, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((entry_id, text))
        else:
            self.more_problems += 1


def verify() -> Verification:
    """Walk the whole chain in order and report every entry that was edited, removed or slipped in."""
    report = Verification()
    expected_id, expected_prev = 1, GENESIS
    for values in Entry.objects.order_by("id").values(*HASHED_FIELDS, "hash").iterator(chunk_size=5000):
        _check_entry(report, values, expected_id, expected_prev)
        report.checked += 1
        expected_id, expected_prev = values["id"] + 1, values["hash"]
    _check_head(report, expected_id - 1, expected_prev)
    return report


def _check_entry(report: Verification, values: dict, expected_id: int, expected_prev: str) -> None:
    entry_id = values["id"]
    if entry_id != expected_id:
        missing = f"entries {expected_id}-{entry_id - 1}" if entry_id - expected_id > 1 else f"entry {expected_id}"
        report.problem(entry_id, f"{missing} missing before entry {entry_id} (deleted, or ids changed)")
    elif values["prev_hash"] != expected_prev:
        report.problem(entry_id, f"entry {entry_id} does not follow entry {entry_id - 1} (a row was removed, "
                                 "replaced or inserted before it)")
    if entry_hash(values) != values["hash"]:
        report.problem(entry_id, f"entry {entry_id} was changed after it was written (its content does not match "
                                 "its hash)")


def _check_head(report: Verification, last_id: int, last_hash: str) -> None:
    head = ChainHead.objects.filter(pk=1).first()
    head_id, head_hash = (head.last_id, head.last_hash) if head else (0, GENESIS)
    report.head_id, report.head_hash = head_id, head_hash
    if head_id > last_id:
        report.problem(None, f"the newest entries are missing: the chain ends at entry {last_id}, "
                             f"but entry {head_id} was written")
    elif (head_id, head_hash) != (last_id, last_hash):
        report.problem(None, f"the chain head (entry {head_id}) does not match the newest entry ({last_id})")


def hash_of(entry_id: int) -> str | None:
    """The stored hash of entry `entry_id` (None when there is no such entry)."""
    return Entry.objects.filter(pk=entry_id).values_list("hash", flat=True).first()
