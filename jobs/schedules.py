"""Job schedules: every N minutes or hours, daily at a time, or a cron expression.

Parsing is strict: a malformed schedule is a ScheduleError that says what was expected, never a job that
silently never runs.
"""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from jobs.errors import ScheduleError

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_NUMBER = re.compile(r"^[0-9]{1,9}$")
# Bounds of "every N": at least one session a year, and a value a datetime can add; no more often than every
# 5 minutes, as a session competes with Graph throttling and with the one before it.
EVERY_MIN = {"minutes": 5, "hours": 1}
EVERY_MAX = {"minutes": 525_600, "hours": 8_760}
CRON_MAX_LENGTH = 100  # BackupJob.schedule_value


def schedule_validate(kind: str, value: str) -> str:
    """The normalised schedule value, or a ScheduleError naming the problem."""
    value = (value or "").strip()
    if kind == "manual":
        return ""
    if kind in ("minutes", "hours"):
        if not _NUMBER.match(value) or not EVERY_MIN[kind] <= int(value) <= EVERY_MAX[kind]:
            raise ScheduleError(f"Every N {kind}: N must be a whole number of at least {EVERY_MIN[kind]} and at most "
                                f"{EVERY_MAX[kind]} (got {_shown(value)}).")
        return str(int(value))
    if kind == "daily":
        match = _HHMM.match(value)
        if not match:
            raise ScheduleError(f"Daily: give the time as HH:MM, 24-hour clock (got {_shown(value)}).")
        return f"{int(match.group(1)):02d}:{match.group(2)}"
    if kind == "cron":
        if len(value) > CRON_MAX_LENGTH or len(value.split()) != 5 or not croniter.is_valid(value):
            raise ScheduleError(f"Cron: give five fields, minute hour day month weekday, at most {CRON_MAX_LENGTH} "
                                f"characters (got {_shown(value)}).")
        return value
    raise ScheduleError(f"Unknown schedule kind {_shown(kind)}.")


def _shown(value: str) -> str:
    """The user's value quoted for a message, cut to 40 characters."""
    return f"{value[:40]!r}{'…' if len(value) > 40 else ''}"


def next_run(kind: str, value: str, *, after: datetime, tz: str = "UTC") -> datetime | None:
    """When a job with this schedule runs next, strictly after `after` (None for manual jobs)."""
    if kind == "manual":
        return None
    if kind == "minutes":
        return after + timedelta(minutes=int(value))
    if kind == "hours":
        return after + timedelta(hours=int(value))
    local = after.astimezone(ZoneInfo(tz))
    if kind == "daily":
        hour, minute = (int(part) for part in value.split(":"))
        candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate.astimezone(after.tzinfo)
    return croniter(value, local).get_next(datetime).astimezone(after.tzinfo)


def describe(kind: str, value: str) -> str:
    return {
        "manual": "manual",
        "minutes": f"every {value} minutes",
        "hours": f"every {value} hours",
        "daily": f"daily at {value}",
        "cron": f"cron {value}",
    }.get(kind, kind)
