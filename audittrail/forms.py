from django import forms
from django.core.exceptions import ValidationError

from audittrail.exports import FORMATS
from audittrail.models import Entry
from audittrail.selectors import EntryFilter, tenants_seen
from audittrail.timerange import EXAMPLE, TimeBoundError, check_range, parse_bound


class EntryFilterForm(forms.Form):
    """The audit trail page's filters (a GET form); every field may stay empty."""

    start = forms.CharField(required=False, label="From", help_text=f"ISO 8601: {EXAMPLE}",
                            widget=forms.TextInput(attrs={"placeholder": "2026-11-30"}))
    stop = forms.CharField(required=False, label="To", help_text="A date alone includes that whole day",
                           widget=forms.TextInput(attrs={"placeholder": "2026-11-30T18:00"}))
    username = forms.CharField(required=False, max_length=150, label="User")
    action = forms.CharField(required=False, max_length=64, help_text="Exact, or a prefix ending in . or *",
                             widget=forms.TextInput(attrs={"placeholder": "tenant.*"}))
    tenant = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    result = forms.ChoiceField(required=False, choices=[("", "Any"), *Entry.Result.choices])
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    format = forms.ChoiceField(required=False, choices=[(name, name.upper()) for name in FORMATS])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].choices = [("", "Any"), *tenants_seen()]

    def clean_start(self):
        return self._bound("start", end=False)

    def clean_stop(self):
        return self._bound("stop", end=True)

    def _bound(self, name: str, *, end: bool):
        text = self.cleaned_data.get(name, "").strip()
        if not text:
            return None
        try:
            return parse_bound(text, end=end)
        except TimeBoundError as exc:
            raise ValidationError(str(exc)) from None

    def clean(self):
        data = super().clean()
        try:
            check_range(data.get("start"), data.get("stop"))
        except TimeBoundError as exc:
            raise ValidationError(str(exc)) from None
        return data

    def filters(self) -> EntryFilter:
        data = self.cleaned_data
        return EntryFilter(start=data.get("start"), stop=data.get("stop"), username=data.get("username", ""),
                           action=data.get("action", ""), tenant_id=data.get("tenant"), result=data.get("result", ""))
