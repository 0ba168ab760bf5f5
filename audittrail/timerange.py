"""Reading the time bounds an operator types: an ISO 8601 date or date and time."""

from datetime import datetime, time, timedelta

from django.utils import timezone

EXAMPLE = "2026-11-30, 2026-11-30T14:00 or 2026-11-30T14:00:00Z"


class TimeBoundError(ValueError):
    """A bound that is not an ISO 8601 date or time; the message says what was expected."""


def parse_bound(text: str, *, end: bool = False) -> datetime:
    """`text` as an aware datetime (a time without an offset is in the server's time zone).

    A date alone is the start of that day; as an `end` bound, the start of the next day, so `--to
    2026-11-30` includes the whole of 30 November.
    """
    text = (text or "").strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        shown = text[:40] + ("…" if len(text) > 40 else "")
        raise TimeBoundError(f"{shown!r} is not an ISO 8601 date or time (for example {EXAMPLE}).") from None
    if end and len(text) == 10:  # a date alone: up to the end of that day
        value = datetime.combine(value.date(), time.min) + timedelta(days=1)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def check_range(start: datetime | None, stop: datetime | None) -> None:
    if start is not None and stop is not None and start >= stop:
        raise TimeBoundError("The start of the time range must be before its end.")
