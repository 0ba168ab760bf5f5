"""The Sessions table's texts computed in Python read exactly as the template filters they replace."""

from datetime import UTC, datetime

from django.template import Context, Template
from django.template.defaultfilters import truncatechars

from jobs.sessionlist import SessionRow, clip

TEXTS = ["", "short", "x" * 60, "y" * 61, "Graph answered 503 three times. " * 4, "e\u0301" * 70,
         "<script>alert('x')</script> & \"Co\"" * 3]


def test_clip_is_truncatechars():
    for text in TEXTS:
        assert clip(text, 60) == truncatechars(text, 60), text


def test_queued_text_is_the_date_filter_in_the_servers_time_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"
    moment = datetime(2026, 11, 30, 23, 59, 58, tzinfo=UTC)
    row = SessionRow("backup", 1, 1, "T", "job", "success", moment, None, None, "manual", {}, "", False, [], [], 1)
    shown = Template('{{ moment|date:"Y-m-d H:i:s" }}').render(Context({"moment": moment}))
    assert row.queued_text == shown == "2026-12-01 00:59:58"
