"""Query parameters of the restore pages, checked at the edge: a bad value is a 400 that says which, never a 500."""

import re

from django import forms
from django.core.exceptions import ValidationError

from jobs.backup import OBJECT_TYPES
from restore.compare import CHANGE_KINDS
from restore.selectors import LATEST, PRODUCTION, PointSpec

MAX_PAGE = 1_000_000
MAX_SEARCH = 200
_POINT = re.compile(r"^(?:(\d{1,18}):)?(\d{1,18})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def point_spec_parse(text: str | None) -> PointSpec:
    """`latest` (or nothing), `<repository pk>:<restore point id>`, or a bare restore point id."""
    text = (text or "").strip()
    if text in ("", "latest"):
        return LATEST
    match = _POINT.match(text)
    if not match:
        raise ValidationError(f"A restore point is 'latest' or <repository>:<id>, such as 1:42 (got {text[:40]!r}).")
    repository, point = match.groups()
    return PointSpec(int(repository) if repository else None, int(point))


def text_validate(value: str, what: str) -> str:
    if _CONTROL.search(value):
        raise ValidationError(f"The {what} cannot contain control characters.")
    return value


class PointQuery(forms.Form):
    """?rp= of the object pages."""

    rp = forms.CharField(required=False, max_length=40)

    def clean_rp(self):
        return point_spec_parse(self.cleaned_data["rp"])


class ExplorerQuery(PointQuery):
    """?rp=&type=&q=&page= of the object explorer."""

    type = forms.ChoiceField(required=False, choices=[("", "All types")] + [(t, t) for t in OBJECT_TYPES])
    q = forms.CharField(required=False, max_length=MAX_SEARCH, strip=True)
    state = forms.ChoiceField(required=False, choices=[("", "Present"), ("deleted", "Deleted"), ("all", "All")])
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)

    def clean_q(self):
        return text_validate(self.cleaned_data["q"], "search text")

    def clean_page(self):
        return self.cleaned_data["page"] or 1


def object_path_validate(object_type: str, object_id: str) -> None:
    """The object type and id of an object page's path: a known type and an id without control characters."""
    if object_type not in OBJECT_TYPES:
        raise ValidationError(f"Unknown object type {object_type[:40]!r}.")
    if len(object_id) > 200:
        raise ValidationError("The object id is too long.")
    text_validate(object_id, "object id")


def compare_target_parse(text: str | None):
    """The other side of a comparison: `production` or a restore point (see point_spec_parse)."""
    if (text or "").strip().lower() == PRODUCTION:
        return PRODUCTION
    return point_spec_parse(text)


class CompareQuery(forms.Form):
    """?from=&to=&type=&change=&object=&volatile=&page= of the compare page and its export."""

    CHANGES = [("", "All changes")] + [(c, c) for c in CHANGE_KINDS]

    to = forms.CharField(required=False, max_length=40)
    type = forms.MultipleChoiceField(required=False, choices=[(t, t) for t in OBJECT_TYPES])
    change = forms.ChoiceField(required=False, choices=CHANGES)
    object = forms.CharField(required=False, max_length=200)
    volatile = forms.BooleanField(required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    format = forms.ChoiceField(required=False, choices=[("json", "JSON"), ("csv", "CSV")])

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.fields["from"] = forms.CharField(required=False, max_length=40)

    def clean(self):
        data = super().clean()
        try:
            data["source"] = point_spec_parse(self.data.get("from")) if self.data.get("from") else None
        except ValidationError as exc:
            self.add_error("from", exc)
        return data

    def clean_to(self):
        return compare_target_parse(self.cleaned_data["to"])

    def clean_object(self):
        return text_validate(self.cleaned_data["object"], "object id") or None

    def clean_page(self):
        return self.cleaned_data["page"] or 1
