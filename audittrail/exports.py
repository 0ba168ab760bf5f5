"""The audit trail as CSV or JSON, written as it is read (any number of entries in constant memory).

Both keep `prev_hash` and `hash`, so an exported copy can be checked against the chain later. CSV cells
that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) get a
leading apostrophe.
"""

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC

from django.db.models import QuerySet

from audittrail.models import Entry

FORMATS = ("json", "csv")
FIELDS = ("id", "at", "actor", "user_id", "username", "command", "os_user", "host", "ip", "user_agent", "action",
          "target", "tenant_id", "tenant_name", "result", "detail", "prev_hash", "hash")
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHUNK = 2000


class Export:
    """`chunks()` yields the text of the export; `count` is the number of entries written so far."""

    def __init__(self, entries: QuerySet[Entry], fmt: str):
        if fmt not in FORMATS:
            raise ValueError(f"The format is one of {', '.join(FORMATS)} (got {fmt!r}).")
        self.entries, self.format, self.count = entries, fmt, 0

    def chunks(self) -> Iterator[str]:
        return self._json() if self.format == "json" else self._csv()

    def _rows(self) -> Iterator[dict]:
        for values in self.entries.order_by("id").values(*FIELDS).iterator(chunk_size=_CHUNK):
            values["at"] = values["at"].astimezone(UTC).isoformat()
            self.count += 1
            yield values

    def _json(self) -> Iterator[str]:
        yield "["
        for n, values in enumerate(self._rows()):
            yield ("," if n else "") + "\n" + json.dumps(values, ensure_ascii=False, sort_keys=False)
        yield "\n]\n"

    def _csv(self) -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(FIELDS)
        for values in self._rows():
            values["detail"] = json.dumps(values["detail"], ensure_ascii=False, sort_keys=True)
            writer.writerow([csv_cell(values[name]) for name in FIELDS])
            if buffer.tell() > 64 * 1024:
                yield _drain(buffer)
        yield _drain(buffer)


def csv_cell(value) -> str:
    """A cell's text, with a leading apostrophe when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
