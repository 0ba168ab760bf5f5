"""Job schedules: every N minutes or hours, daily at a time, or a cron expression.

Parsing is strict: a malformed schedule is a ScheduleError that says what was expected, never a job that
silently never runs.
"""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from entrabackup import humanize
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
    """The schedule in words: "every hour", "every 15 minutes", "daily at 02:00" (entrabackup/humanize.py)."""
    return humanize.schedule(kind, value)


OVERDUE_GRACE_MAX = timedelta(hours=1)


def overdue_at(kind: str, value: str, *, since: datetime, tz: str = "UTC") -> datetime | None:
    """When a job whose newest restore point is from `since` (or that was created then) is overdue: its next
    scheduled run after `since` plus a grace for that run to finish (the interval between two runs, at most
    an hour). None for manual jobs, which are never overdue."""
    try:
        due = next_run(kind, value, after=since, tz=tz)
    except (ValueError, KeyError):  # a schedule saved before validation existed: judged by nobody
        return None
    if due is None:
        return None
    interval = next_run(kind, value, after=due, tz=tz) - due
    return due + min(interval, OVERDUE_GRACE_MAX)


def overdue_before(kind: str, value: str, *, now: datetime, tz: str = "UTC") -> datetime | None:
    """The moment that splits a schedule's jobs at `now`: a job whose newest restore point (or creation) is
    older is overdue (`overdue_at` has passed), a newer one is not. One computation per distinct schedule,
    however many jobs share it. None for manual jobs."""
    try:
        if kind in ("minutes", "hours"):
            interval = next_run(kind, value, after=now, tz=tz) - now
            return now - interval - min(interval, OVERDUE_GRACE_MAX)
        if kind not in ("daily", "cron"):
            return None
        # Overdue once the first slot after `since` is a grace behind `now`, that is when `since` is before
        # the last slot a grace behind now; the grace is the slot's interval, at most an hour.
        slot = _previous_slot(kind, value, before=now - OVERDUE_GRACE_MAX, tz=tz)
        interval = next_run(kind, value, after=slot, tz=tz) - slot
        return slot if interval >= OVERDUE_GRACE_MAX else _previous_slot(kind, value, before=now - interval, tz=tz)
    except (ValueError, KeyError):
        return None


def _previous_slot(kind: str, value: str, *, before: datetime, tz: str) -> datetime:
    """The last scheduled time strictly before `before` (daily or cron schedules)."""
    local = before.astimezone(ZoneInfo(tz))
    if kind == "daily":
        hour, minute = (int(part) for part in value.split(":"))
        slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if slot >= local:
            slot -= timedelta(days=1)
        return slot.astimezone(before.tzinfo)
    return croniter(value, local).get_prev(datetime).astimezone(before.tzinfo)
