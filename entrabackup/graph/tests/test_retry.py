import email.utils
import random

import pytest

from entrabackup.graph.retry import RetryPolicy, parse_retry_after


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2.128", 2.128), ("3", 3.0), (" 0.5 ", 0.5), ("0", 0.0), ("-4", 0.0)],
)
def test_retry_after_seconds_including_fractional(value, expected):
    assert parse_retry_after(value) == pytest.approx(expected)


def test_retry_after_http_date_is_seconds_from_now():
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(30, abs=1)


def test_retry_after_http_date_in_the_past_means_now():
    now = 1_700_000_000.0
    assert parse_retry_after(email.utils.formatdate(now - 100, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "100000"])
def test_retry_after_missing_garbage_or_absurd_falls_back_to_backoff(value):
    assert parse_retry_after(value) is None


def test_backoff_is_full_jitter_under_an_exponential_ceiling_capped_at_60s():
    policy, rng = RetryPolicy(base=0.5, cap=60), random.Random(1)
    for attempt in range(12):
        ceiling = min(60, 0.5 * 2**attempt)
        waits = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # really spreads over the whole range


def test_delay_prefers_the_servers_retry_after():
    assert RetryPolicy().delay(5, 2.128) == 2.128
