"""Template filters for people: `{% load human %}` then `{{ session.duration|duration }}`, `{{ n|size }}`,
`{{ job|schedule }}`, `{{ name|type_label }}`, `{{ session.stats|by_type }}`, `{{ session.log|log_lines }}`."""

from django import template
from django.utils import timezone

from entrabackup import humanize

register = template.Library()

register.filter("duration", humanize.duration)
register.filter("size", humanize.size)
register.filter("count", humanize.count)
register.filter("type_label", humanize.type_label)
register.filter("by_type", humanize.by_type)
register.filter("log_lines", humanize.log_lines)
register.filter("every_minutes", humanize.every_minutes)


@register.filter
def schedule(job) -> str:
    """A backup job's schedule in words."""
    return humanize.schedule(job.schedule_kind, job.schedule_value)


@register.filter
def get(mapping, key):
    """mapping[key] (None when missing), for dictionaries keyed by a variable."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def elapsed(session) -> str:
    """How long a session ran (or has been running): from started_at to ended_at or now."""
    if not getattr(session, "started_at", None):
        return "—"
    return humanize.duration((session.ended_at or timezone.now()) - session.started_at)
