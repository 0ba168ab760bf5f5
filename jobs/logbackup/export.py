"""Exporting stored log records from a log repository's chunks (not from the index alone). Django-free."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime

import orjson

from jobs.logbackup.types import LOG_TYPES, index_fields, record_time

CSV_COLUMNS = ["id", "time", "log_type", "category", "activity", "result", "user_id", "user_upn", "app_id",
               "app_name", "target_ids", "target_names", "correlation_id", "ip_address", "application", "status"]


def records_between(store, *, tenant: str, group: str, start: datetime, end: datetime) -> Iterator[tuple[str, dict]]:
    """(log type, record) of every record of the group (audit or signin) from `start` to `end`, each id once,
    oldest chunks first."""
    seen = set()
    for key, log_type in LOG_TYPES.items():
        if log_type.export_group != group:
            continue
        for manifest in store.manifests(tenant, key, start=start.date(), end=end.date()):
            for record in store.read_chunk(manifest):
                if record["id"] not in seen and start <= record_time(log_type, record) <= end:
                    seen.add(record["id"])
                    yield key, record


def write_json(records: Iterator[tuple[str, dict]], out) -> int:
    """An array of Graph's record objects, streamed."""
    count = 0
    out.write(b"[")
    for _, record in records:
        out.write((b",\n" if count else b"\n") + orjson.dumps(record))
        count += 1
    out.write(b"\n]\n")
    return count


def write_csv(records: Iterator[tuple[str, dict]], out) -> int:
    """One row per record with the key fields (lists joined by '; ')."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for key, record in records:
        writer.writerow(csv_row(key, record))
        count += 1
    return count


def csv_row(key: str, record: dict) -> list[str]:
    """The CSV cells of one record of log type `key`, in CSV_COLUMNS order (the log explorer streams these)."""
    log_type = LOG_TYPES[key]
    row = {"id": record["id"], "time": record[log_type.time_field], "log_type": key, **index_fields(log_type, record)}
    return [_cell("; ".join(v) if isinstance(v, list) else v) for v in (row[c] for c in CSV_COLUMNS)]


def _cell(value) -> str:
    """Tenant data must not become a spreadsheet formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
