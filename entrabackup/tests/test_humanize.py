"""Durations, sizes, schedules, type labels and session logs as people read them."""

from datetime import timedelta

import pytest

from entrabackup import humanize, objecttypes


@pytest.mark.parametrize("seconds, shown", [
    (4.446803, "4 s"), (0.2, "< 1 s"), (125, "2 min 5 s"), (120, "2 min"), (3780, "1 h 3 min"),
    (3600, "1 h"), (86_400 * 2 + 3600 * 4 + 59, "2 d 4 h"), (None, "—"), (-3, "—"),
])
def test_durations_read_like_a_person_would_say_them(seconds, shown):
    value = None if seconds is None else timedelta(seconds=seconds)
    assert humanize.duration(value) == shown


@pytest.mark.parametrize("size, shown", [
    (0, "0 bytes"), (1, "1 byte"), (999, "999 bytes"), (1_200_000, "1.2 MB"), (123_456_789_012, "123 GB"),
    (None, "—"),
])
def test_sizes_use_decimal_units(size, shown):
    assert humanize.size(size) == shown


@pytest.mark.parametrize("kind, value, shown", [
    ("hours", "1", "every hour"), ("hours", "6", "every 6 hours"), ("hours", "24", "every day"),
    ("minutes", "15", "every 15 minutes"), ("minutes", "60", "every hour"), ("minutes", "120", "every 2 hours"),
    ("daily", "02:00", "daily at 02:00"), ("manual", "", "manual"),
    ("cron", "*/15 * * * *", "every 15 minutes"), ("cron", "0 * * * *", "every hour"),
    ("cron", "30 * * * *", "every hour at :30"), ("cron", "0 2 * * *", "daily at 02:00"),
    ("cron", "0 */4 * * *", "every 4 hours"), ("cron", "0 2 * * 1", "cron 0 2 * * 1"),
])
def test_schedules_are_spoken(kind, value, shown):
    assert humanize.schedule(kind, value) == shown


def test_types_are_labelled_in_display_order_with_unknown_ones_last():
    counts = {"organization": 1, "servicePrincipal": 2, "user": 3, "someOldType": 4, "group": 5}
    assert [label for _, label, _ in humanize.by_type(counts)] == [
        "Users", "Groups", "Enterprise applications", "Organization", "someOldType"]
    assert sorted(objecttypes.DISPLAY_ORDER) == sorted(objecttypes.NAMES)


def test_a_session_log_becomes_time_and_message_lines():
    log = ("2026-11-30 10:00:01 Started on proxy p1.\n2026-11-30 10:00:05 user: full: read 40, new 40\n"
           "continued line\n")
    assert humanize.log_lines(log) == [("2026-11-30 10:00:01", "Started on proxy p1."),
                                       ("2026-11-30 10:00:05", "user: full: read 40, new 40\ncontinued line")]
    assert humanize.log_lines("") == []
