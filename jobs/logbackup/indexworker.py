"""The index worker: a process of its own that indexes a session's chunks, so that the session's Python
(serialise, zstd, AES, the cache) and the index's (parse, key fields, COPY text) run on two cores instead of
sharing one interpreter lock. jobs.logbackup.index.ChunkIndexer starts it with `process=True` (or for chunks
of PROCESS_MIN_RECORDS records when that is set); it is off by default: on the 2 cores measured, parsing the
chunk again cost more than it saved (docs/benchmarks.md, "Log job pipeline").

It is started as `python -m jobs.logbackup.indexworker` (a fresh interpreter: a fork of a session process
that holds a database connection and threads is not safe), sets Django up, takes the session's database
settings from its first frame (under tests the database is not the one the settings name) and opens a
connection of its own. Then, per chunk, it receives the chunk's NDJSON as stored (the bytes write_chunk
serialised: the records are not serialised twice) with the chunk's place, parses it with orjson and runs
index_chunk: the marker and the rows in one transaction, exactly as the in-process path does.

Frames both ways: 4-byte big-endian length of a pickled header, then (parent to worker) 8-byte length of the
body and the body. Only the session's own process writes to it, through a pipe nobody else holds.
The worker ends when its input closes (the session closed it, or the session died: a chunk being indexed is
committed or rolled back whole before it goes).
"""

from __future__ import annotations

import gc
import os
import pickle  # noqa: S403 - frames between a session and the worker it started, over its own pipe
import queue
import struct
import sys
import threading

HEADER = struct.Struct(">I")
BODY = struct.Struct(">Q")


def write_frame(out, header, body: bytes | None = None) -> None:
    head = pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(HEADER.pack(len(head)) + head)
    if body is not None:
        out.write(BODY.pack(len(body)))
        out.write(body)
    out.flush()


def _read_exact(stream, size: int) -> bytes | None:
    data = stream.read(size)
    if size and not data:
        return None  # the other side closed the pipe
    if len(data) != size:
        raise EOFError("the pipe closed within a frame")
    return data


def read_header(stream):
    """The next frame's header, or None when the pipe is closed."""
    raw = _read_exact(stream, HEADER.size)
    if raw is None:
        return None
    head = _read_exact(stream, HEADER.unpack(raw)[0])
    if head is None:
        raise EOFError("the pipe closed within a frame")
    return pickle.loads(head)  # noqa: S301 - written by the session that started this worker, or by this worker


def read_body(stream) -> bytes:
    raw = _read_exact(stream, BODY.size)
    if raw is None:
        raise EOFError("the pipe closed within a frame")
    return _read_exact(stream, BODY.unpack(raw)[0]) or b""


def parse(ndjson: bytes) -> list[dict]:
    """The records of a chunk's NDJSON (orjson escapes newlines inside strings: one record per line)."""
    import orjson  # local: the worker imports it once, callers already have it

    if not ndjson:
        return []
    return orjson.loads(b"[" + ndjson.rstrip(b"\n").replace(b"\n", b",") + b"]")


def main() -> None:
    stdin = sys.stdin.buffer
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")  # the protocol's; print() and logs go to stderr
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    settings_dict = read_header(stdin)
    if settings_dict is None:
        return
    import django  # local: the environment names the settings module

    django.setup()
    from django.db import connection  # local: after django.setup()

    from jobs.logbackup import index  # local: after django.setup()
    from jobs.logbackup.types import LOG_TYPES  # local: after django.setup()

    connection.settings_dict.update(settings_dict)
    connection.ensure_connection()
    # A chunk's records are thousands of dicts made and freed at once: the collector's passes over them (and
    # over Django's objects, frozen here) would cost about a third of the parsing. Collected between chunks.
    gc.collect()
    gc.freeze()
    gc.disable()
    # The COPY waits on its socket many times per chunk; each time it wants the GIL back from the reading
    # thread, which would keep it for the default 5 ms.
    sys.setswitchinterval(0.0005)
    write_frame(out, ("ready", os.getpid()))
    parsed: queue.Queue = queue.Queue(maxsize=1)
    threading.Thread(target=_read, args=(stdin, parsed), name="log-index-read", daemon=True).start()
    while (item := parsed.get()) is not None:
        (tenant_id, log_type, repository, chunk), records = item
        try:
            if isinstance(records, Exception):
                raise records
            added = index.index_chunk(tenant_id=tenant_id, log_type=LOG_TYPES[log_type], repository=repository,
                                      chunk=chunk, records=records)
        except Exception as exc:  # noqa: BLE001 - reported to the session, which raises it as today's errors
            write_frame(out, ("error", f"{type(exc).__name__}: {exc}"))
        else:
            write_frame(out, ("ok", added))
        del item, records
        gc.collect()
    connection.close()


def _read(stdin, parsed) -> None:
    """Read and parse the next chunk while the one before is indexed (its COPY leaves the GIL free)."""
    try:
        while (task := read_header(stdin)) is not None:
            body = read_body(stdin)
            try:
                records = parse(body)
            except ValueError as exc:  # orjson's JSONDecodeError: the chunk fails, the next ones go on
                records = exc
            del body
            parsed.put((task, records))
    finally:
        parsed.put(None)


if __name__ == "__main__":
    main()
