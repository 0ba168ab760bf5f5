"""Shared pieces of the collectors: type names, results, cancellation and progress, annotation handling.

Plain Python (no Django): the collectors run inside a job worker but only talk to a GraphClient and a
repository session writer.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from entrabackup import objecttypes

# The types in reading order and their labels, from the object type registry.
OBJECT_TYPES: list[str] = list(objecttypes.NAMES)
TYPE_LABELS: dict[str, str] = dict(objecttypes.LABELS)

ProgressFn = Callable[[str, int], None]
CancelledFn = Callable[[], bool]


class BackupCancelled(Exception):  # noqa: N818 - the API name is fixed
    """The job was cancelled between two pages; the session writer must not be committed."""


@dataclass
class TypeResult:
    """What one collector did for one object type in one session."""

    object_type: str
    mode: str  # "full" | "delta" | "resync" (the saved delta link expired, so a full read was done)
    counts: dict[str, int] = field(default_factory=dict)
    relations: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Pager:
    """Counts objects read for one type, reports progress and honours cancellation once per page."""

    def __init__(self, object_type: str, progress: ProgressFn | None, cancelled: CancelledFn):
        self.object_type = object_type
        self._progress = progress
        self._cancelled = cancelled
        self.read = 0

    def check(self) -> None:
        if self._cancelled():
            raise BackupCancelled(f"Backup of {self.object_type} cancelled after {self.read} objects.")

    def page(self, items: int) -> None:
        """Call after each page: count it, report it, then stop if the job was cancelled."""
        self.read += items
        if self._progress is not None:
            self._progress(self.object_type, self.read)
        self.check()

    def pages(self, pages: Iterable[dict], count: bool = True) -> Iterator[dict]:
        """Pass Graph pages through, checking cancellation before the first request and after each page.
        ``count=False`` for auxiliary reads (owners, deleted items) that are not objects of the type."""
        self.check()
        for page in pages:
            yield page
            self.page(len(page.get("value", ())) if count else 0)

    def batches(self, items: list, size: int = 20) -> Iterator[list]:
        """``items`` in chunks of one $batch (20 sub-requests), with a cancellation check between them."""
        for start in range(0, len(items), size):
            self.check()
            yield items[start:start + size]

    def values(self, pages: Iterable[dict]) -> Iterator[dict]:
        for page in self.pages(pages):
            yield from page.get("value", ())


PREFETCH_PAGES = 2  # pages read ahead: enough to keep Graph busy while a page is stored, little memory
_END = object()


def prefetched(pages: Iterable, depth: int = PREFETCH_PAGES) -> Iterator:
    """``pages`` iterated on a reader thread, up to ``depth`` items ahead of the consumer.

    Graph (the network, the service) prepares page N+1 while we parse, hash and COPY page N, instead of
    each waiting for the other. Errors of the reader are raised to the consumer at the point they occurred;
    when the consumer stops early (cancellation, an error) the reader stops after its current request.
    The source must be iterated by one thread only: the reader is the only one that touches it.
    """
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for page in pages:
                if not offer((page, None)):
                    return
            offer((_END, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            offer((_END, exc))

    reader = threading.Thread(target=read, name="graph-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            page, error = ahead.get()
            if page is _END:
                if error is not None:
                    raise error
                return
            yield page
    finally:
        stop.set()
        reader.join()


def target_type(ref: dict, default: str = "user") -> str:
    """'#microsoft.graph.group' -> 'group' (directoryObject references carry @odata.type:
    https://learn.microsoft.com/graph/api/group-list-members)."""
    odata_type = ref.get("@odata.type") or ""
    return odata_type.removeprefix("#").removeprefix("microsoft.graph.") or default
