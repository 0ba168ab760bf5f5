"""Schedules are parsed strictly and computed in the configured time zone."""

from datetime import UTC, datetime

import pytest

from jobs.errors import ScheduleError
from jobs.schedules import next_run, schedule_validate

NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("kind, value, expected", [
    ("minutes", "15", "15"), ("hours", " 2 ", "2"), ("daily", "2:30", "02:30"), ("cron", "0 3 * * 1-5", "0 3 * * 1-5"),
    ("manual", "anything", ""),
])
def test_valid_schedules_are_normalised(kind, value, expected):
    assert schedule_validate(kind, value) == expected


@pytest.mark.parametrize("kind, value, message", [
    ("minutes", "0", "at least 5"), ("minutes", "2", "at least 5"), ("hours", "two", "whole number"),
    ("daily", "25:00", "HH:MM"), ("daily", "noon", "HH:MM"), ("cron", "0 3 * *", "five fields"),
    ("cron", "61 3 * * *", "five fields"), ("weekly", "1", "Unknown schedule kind"),
    ("hours", "99999999999", "at most 8760"), ("minutes", "525601", "at most 525600"), ("hours", "²", "whole number"),
    ("cron", "0 3 * * " + "1," * 60 + "2", "at most 100 characters"),
])
def test_malformed_schedules_say_what_was_expected(kind, value, message):
    with pytest.raises(ScheduleError, match=message):
        schedule_validate(kind, value)


def test_next_runs():
    assert next_run("minutes", "15", after=NOON) == datetime(2026, 11, 27, 12, 15, tzinfo=UTC)
    assert next_run("hours", "6", after=NOON) == datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert next_run("daily", "02:30", after=NOON) == datetime(2026, 11, 28, 2, 30, tzinfo=UTC)
    assert next_run("daily", "13:00", after=NOON) == datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    assert next_run("cron", "0 3 * * *", after=NOON) == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert next_run("manual", "", after=NOON) is None


def test_daily_time_is_read_in_the_configured_time_zone():
    # 02:30 in Paris (UTC+1 in November) is 01:30 UTC.
    assert next_run("daily", "02:30", after=NOON, tz="Europe/Paris") == datetime(2026, 11, 28, 1, 30, tzinfo=UTC)
