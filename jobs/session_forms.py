"""The Sessions page's filters, validated: a bad date, an unknown kind or status is a message, not a 500."""

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from jobs.models import BackupSession
from jobs.sessionlist import KINDS, SessionFilter


class SessionFilterForm(forms.Form):
    tenant = forms.IntegerField(required=False, min_value=1, max_value=2**62,
                                error_messages={"invalid": "Tenant: choose one from the list."})
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind")] + [(k.key, k.label) for k in KINDS.values()],
                             error_messages={"invalid_choice": "Kind: choose backup, log or restore (got %(value)s)."})
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *BackupSession.Status.choices],
                               error_messages={"invalid_choice": "Status: %(value)s is not a session status."})
    start = forms.DateField(required=False, input_formats=["%Y-%m-%d"], label="From",
                            error_messages={"invalid": "From: give a date as YYYY-MM-DD."})
    end = forms.DateField(required=False, input_formats=["%Y-%m-%d"], label="To",
                          error_messages={"invalid": "To: give a date as YYYY-MM-DD."})
    before = forms.CharField(required=False, max_length=80)

    def clean_before(self):
        text = self.cleaned_data["before"]
        if not text:
            return None
        moment, _, pk = text.rpartition("_")
        try:
            when = datetime.fromisoformat(moment)
        except ValueError:
            when = None
        if when is None or when.tzinfo is None or not (pk.isascii() and pk.isdigit() and len(pk) < 19):
            raise forms.ValidationError("This page link is damaged; start again from the newest sessions.")
        return when, int(pk)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The date range ends before it starts.")
        return data

    def session_filter(self) -> SessionFilter:
        data = self.cleaned_data
        return SessionFilter(tenant_id=data.get("tenant"), kind=data.get("kind") or None,
                             status=data.get("status") or None, start=_day(data.get("start")),
                             end=_day(data.get("end"), plus=1), before=data.get("before"))

    def messages(self) -> list[str]:
        return [message for errors in self.errors.values() for message in errors]


def _day(day, plus: int = 0):
    """Midnight of `day` (+ `plus` days) in the site's time zone."""
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day + timedelta(days=plus), time.min))


def cursor_text(cursor) -> str:
    when, pk = cursor
    return f"{when.isoformat()}_{pk}"
