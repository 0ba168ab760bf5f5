"""Directory objects shaped like Graph's, for the store tests."""

import socket

import psycopg


def user(n: int, **changes) -> dict:
    obj = {
        "id": f"u-{n:04d}", "displayName": f"User {n}", "userPrincipalName": f"user{n}@contoso.example",
        "mail": f"user{n}@contoso.example", "givenName": "User", "surname": str(n), "jobTitle": "Engineer",
        "department": "IT", "accountEnabled": True, "mobilePhone": None,
        "signInActivity": {"lastSignInDateTime": "2026-01-01T00:00:00Z"},
    }
    obj.update(changes)
    return obj


def users(count: int, start: int = 0) -> list[dict]:
    return [user(n) for n in range(start, start + count)]


def row_count(conninfo: str, table: str, where: str = "true") -> int:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]  # noqa: S608


def ids(rows) -> list[str]:
    return sorted(r.object_id for r in rows)


def closed_port() -> int:
    """A loopback TCP port that nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
