"""Numbers, durations, sizes and schedules as people read them ("2 min 5 s", "1.2 MB", "every hour").

Plain Python, no Django: the template filters (entrabackup/templatetags/human.py), the pages and the
commands share these.
"""

from __future__ import annotations

import re
from datetime import timedelta

from entrabackup import objecttypes

_UNITS = ("bytes", "kB", "MB", "GB", "TB", "PB")
_CRON_FIELDS = 5


def duration(value: timedelta | float | int | None) -> str:
    """4 s, 2 min 5 s, 1 h 3 min, 2 d 4 h; under a second "< 1 s"; None or a negative value "—"."""
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 0:
        return "—"
    if seconds < 1:
        return "< 1 s"
    whole = int(round(seconds))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _pair(days, "d", hours, "h")
    if hours:
        return _pair(hours, "h", minutes, "min")
    if minutes:
        return _pair(minutes, "min", secs, "s")
    return f"{secs} s"


def _pair(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big} {big_unit}" + (f" {small} {small_unit}" if small else "")


def size(value: int | float | None) -> str:
    """1.2 MB (decimal units, as disks and object stores count); 512 bytes; None "—"."""
    if not isinstance(value, int | float):
        return "—"
    amount, unit = float(value), 0
    while abs(amount) >= 1000 and unit < len(_UNITS) - 1:
        amount, unit = amount / 1000, unit + 1
    if unit == 0:
        return f"{int(amount)} byte{'' if int(amount) == 1 else 's'}"
    return f"{amount:.1f} {_UNITS[unit]}" if amount < 100 else f"{amount:.0f} {_UNITS[unit]}"


def count(value: int | None) -> str:
    """12,345 (None, or a value missing from a template, "—")."""
    return f"{int(value):,}" if isinstance(value, int | float) else "—"


def schedule(kind: str, value: str) -> str:
    """A job's schedule (jobs/schedules.py kinds): "every hour", "every 15 minutes", "daily at 02:00"."""
    if kind == "manual":
        return "manual"
    if kind in ("minutes", "hours") and value.isdigit():
        return _every(int(value), kind[:-1])
    if kind == "daily":
        return f"daily at {value}"
    if kind == "cron":
        return cron(value)
    return f"{kind} {value}".strip()


def _every(n: int, unit: str) -> str:
    if unit == "minute" and n % 60 == 0:
        n, unit = n // 60, "hour"
    if unit == "hour" and n % 24 == 0:
        n, unit = n // 24, "day"
    return f"every {unit}" if n == 1 else f"every {n} {unit}s"


_NUMBER = re.compile(r"^\d{1,2}$")


def cron(expression: str) -> str:
    """The common cron shapes in words ("every 15 minutes", "daily at 02:00", "every hour at :30");
    anything else as "cron <expression>"."""
    fields = expression.split()
    if len(fields) != _CRON_FIELDS:
        return f"cron {expression}"
    minute, hour, day, month, weekday = fields
    if (day, month, weekday) != ("*", "*", "*"):
        return f"cron {expression}"
    if hour == "*" and minute.startswith("*/") and minute[2:].isdigit():
        return _every(int(minute[2:]), "minute")
    if hour == "*" and minute == "0":
        return "every hour"
    if hour == "*" and _NUMBER.match(minute):
        return f"every hour at :{int(minute):02d}"
    if _NUMBER.match(hour) and _NUMBER.match(minute):
        return f"daily at {int(hour):02d}:{int(minute):02d}"
    if hour.startswith("*/") and hour[2:].isdigit() and minute == "0":
        return _every(int(hour[2:]), "hour")
    return f"cron {expression}"


def every_minutes(minutes: int) -> str:
    """A log job's interval: "every 15 minutes", "every hour"."""
    return _every(int(minutes), "minute")


def type_label(name: str) -> str:
    """Friendly label of an object type ("Enterprise applications")."""
    return objecttypes.label(name)


def by_type(mapping: dict) -> list[tuple[str, str, object]]:
    """(name, label, value) of a per-type mapping, in the registry's display order."""
    return [(name, objecttypes.label(name), mapping[name]) for name in objecttypes.display_sorted(mapping)]


_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (.*)$")


def log_lines(text: str) -> list[tuple[str, str]]:
    """A session log ("YYYY-MM-DD HH:MM:SS message" per line) as (time, message) pairs; a line without a
    time (a message that spans lines) continues the one before it."""
    lines: list[tuple[str, str]] = []
    for raw in (text or "").splitlines():
        match = _LOG_LINE.match(raw)
        if match:
            lines.append((match.group(1), match.group(2)))
        elif lines:
            lines[-1] = (lines[-1][0], f"{lines[-1][1]}\n{raw}")
        elif raw.strip():
            lines.append(("", raw))
    return lines
