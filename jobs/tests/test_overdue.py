"""When a scheduled job is overdue: per job (`overdue_at`) and per schedule for many jobs (`overdue_before`),
which must agree."""

from datetime import UTC, datetime, timedelta

import pytest

from jobs.schedules import overdue_at, overdue_before

NOW = datetime(2026, 11, 30, 12, 30, tzinfo=UTC)
SCHEDULES = [("minutes", "15"), ("hours", "1"), ("hours", "6"), ("daily", "02:00"), ("daily", "12:00"),
             ("cron", "*/15 * * * *"), ("cron", "0 */4 * * *"), ("cron", "30 2 * * 1")]


@pytest.mark.parametrize("kind, value", SCHEDULES)
def test_the_threshold_of_a_schedule_agrees_with_each_jobs_overdue_moment(kind, value):
    threshold = overdue_before(kind, value, now=NOW)
    for minutes in range(1, 60 * 24 * 9, 13):  # a restore point every 13 minutes back over nine days
        since = NOW - timedelta(minutes=minutes)
        assert (overdue_at(kind, value, since=since) < NOW) == (since < threshold), (kind, value, since)


def test_an_hourly_job_is_overdue_after_two_hours_and_a_manual_one_never():
    assert overdue_at("hours", "1", since=NOW) == NOW + timedelta(hours=2)
    assert overdue_at("daily", "02:00", since=NOW) == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert overdue_at("manual", "", since=NOW) is None and overdue_before("manual", "", now=NOW) is None
