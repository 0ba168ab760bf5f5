"""Query parameters of the restore pages, checked at the edge: a bad value is a 400 that says which, never a 500."""

import re

from django import forms
from django.core.exceptions import ValidationError

from jobs.backup import OBJECT_TYPES
from restore.selectors import LATEST, PointSpec

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
