"""Rows in PostgreSQL's COPY text format, built by hand: psycopg's per-row write_row is several times slower.

In the text format a backslash starts an escape, tab separates columns, newline ends a row and `\\N` is NULL.
orjson output contains no raw tab/newline/CR (JSON escapes them), so only its backslashes need doubling.
"""

import orjson

NULL = b"\\N"
_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\ufffd"})


def text(value: str | None) -> bytes:
    if value is None:
        return NULL
    return value.translate(_TEXT_ESCAPES).encode()


def json(value: object) -> bytes:
    """A jsonb value; `\\u0000` (which jsonb rejects) becomes U+FFFD rather than failing the whole COPY."""
    raw = orjson.dumps(value)
    if b"\\u0000" in raw:  # rare: only then walk the object
        raw = orjson.dumps(_without_nul(value))
    return raw.replace(b"\\", b"\\\\")


def _without_nul(value: object) -> object:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def bytea(value: bytes | None) -> bytes:
    if value is None:
        return NULL
    return b"\\\\x" + value.hex().encode()
