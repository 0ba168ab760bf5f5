"""Chain heads recorded outside the repository: the newest manifest of each tenant and log type.

The chain of manifests finds a chunk removed or replaced in the middle, but not the newest chunks removed
together with their manifests: what is left is a shorter chain that verifies. So the writer records each new
head (its number and the sha-256 of its manifest) somewhere the repository's storage cannot change, and
verify() compares: a recorded head newer than the newest manifest means the newest chunks are missing.
The backup server records them in its configuration database (repositories.log_services.DatabaseChainHeads);
MemoryHeads serves tests and benchmarks.
"""

from dataclasses import dataclass
from typing import Protocol

from repositories.logstore.errors import ChainConflictError


@dataclass(frozen=True)
class Head:
    """The newest manifest of a chain: its number `n` and the sha-256 of its stored bytes."""

    n: int
    hash: str


class ChainHeads(Protocol):
    """Where a repository's chain heads are recorded."""

    def get(self, tenant: str, log_type: str) -> Head | None: ...

    def all(self) -> dict[tuple[str, str], Head]: ...

    def advance(self, tenant: str, log_type: str, head: Head, *, previous: Head | None) -> None:
        """Record `head` if the recorded head is still `previous` (or is `head` already: a health check
        adopted it); ChainConflictError otherwise."""


class MemoryHeads:
    """Chain heads in a dict (tests, benchmarks)."""

    def __init__(self):
        self.heads: dict[tuple[str, str], Head] = {}

    def get(self, tenant: str, log_type: str) -> Head | None:
        return self.heads.get((tenant, log_type))

    def all(self) -> dict[tuple[str, str], Head]:
        return dict(self.heads)

    def advance(self, tenant: str, log_type: str, head: Head, *, previous: Head | None) -> None:
        if self.heads.get((tenant, log_type)) not in (previous, head):
            raise ChainConflictError(f"The recorded head of {tenant}/{log_type} moved: another writer is at work.")
        self.heads[(tenant, log_type)] = head
