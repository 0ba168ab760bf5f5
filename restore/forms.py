"""Query parameters of the restore pages, checked at the edge: a bad value is a 400 that says which, never a 500."""

import ipaddress
import re
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from jobs.backup import OBJECT_TYPES
from restore.compare import CHANGE_KINDS
from restore.logexplorer import FILTERS, RecordRef
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


# The log explorer

LOG_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LOG_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
LOG_MAX_DAYS = 3660  # ten years: wider is not a search, it is a mistake
LOG_DEFAULT_DAYS = 30
LOG_MAX_PAGE = 10_000
LOG_MAX_TICKED = 1000
_TIME_HELP = "a date (2026-11-30) or a time (2026-11-30T14:05, UTC unless it has an offset)"


def log_time_parse(text: str, *, end_of_day: bool) -> datetime:
    """A date or an ISO 8601 time (UTC when it has no offset); a bare date as an end is that whole day."""
    text = text.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time.max if end_of_day else time.min)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise ValidationError(f"Not a date or time: {text[:40]!r}; give {_TIME_HELP}.") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not LOG_EARLIEST <= moment < LOG_LATEST:
        raise ValidationError(f"{text[:40]!r} is outside {LOG_EARLIEST.year}–{LOG_LATEST.year - 1}.")
    return moment


def _text(max_length: int = 200, **kwargs):
    return forms.CharField(required=False, max_length=max_length, strip=True, **kwargs)


class LogQuery(forms.Form):
    """The log explorer's filters (?start=&end=&user=&...&page=), all optional; the range defaults to the
    last 30 days."""

    start = _text(40)
    end = _text(40)
    user = _text()
    app = _text()
    target = _text()
    activity = _text()
    category = _text(100)
    result = forms.ChoiceField(required=False, choices=[("", "Any result"), ("success", "success"),
                                                         ("failure", "failure"), ("timeout", "timeout")])
    ip = _text(45)
    correlation_id = _text(100)
    page = forms.IntegerField(required=False, min_value=1, max_value=LOG_MAX_PAGE)
    per_page = forms.TypedChoiceField(required=False, coerce=int, empty_value=50,
                                      choices=[(50, "50"), (100, "100"), (200, "200")])
    format = forms.ChoiceField(required=False, choices=[("csv", "CSV"), ("json", "JSON")])  # of an export

    def clean(self):
        data = super().clean()
        for name in ("user", "app", "target", "activity", "category", "correlation_id"):
            if data.get(name):
                try:
                    text_validate(data[name], name.replace("_", " "))
                except ValidationError as exc:
                    self.add_error(name, exc)
        if data.get("ip"):
            try:
                data["ip"] = str(ipaddress.ip_address(data["ip"]))
            except ValueError:
                self.add_error("ip", f"Not an IP address: {data['ip'][:45]!r}.")
        self._clean_range(data)
        data["page"] = data.get("page") or 1
        return data

    def _clean_range(self, data) -> None:
        end = self._moment(data, "end", timezone.now())
        if end is None:
            return
        start = self._moment(data, "start", end - timedelta(days=LOG_DEFAULT_DAYS))
        if start is None:
            return
        if end < start:
            self.add_error("end", "The end of the time range is before its start.")
        elif end - start > timedelta(days=LOG_MAX_DAYS):
            self.add_error("start", f"The time range spans more than {LOG_MAX_DAYS // 366} years; narrow it.")
        data["start_at"], data["end_at"] = start, end

    def _moment(self, data, name: str, default: datetime) -> datetime | None:
        if not data.get(name):
            return default
        try:
            return log_time_parse(data[name], end_of_day=name == "end")
        except ValidationError as exc:
            self.add_error(name, exc)
            return None

    def filters(self) -> dict:
        return self.filters_of(self.cleaned_data)

    @staticmethod
    def filters_of(cleaned: dict) -> dict:
        """The search filters that are set, as jobs.selectors.log_records_search takes them."""
        return {name: cleaned[name] for name in FILTERS if cleaned.get(name)}


class LogSelection(forms.Form):
    """Records ticked on the explorer's page (their references), for an export or a revert."""

    ids = forms.CharField(required=False)
    format = forms.ChoiceField(required=False, choices=[("csv", "CSV"), ("json", "JSON")])

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.tokens = data.getlist("ids") if hasattr(data, "getlist") else list(data.get("ids") or [])

    def clean(self):
        data = super().clean()
        if not self.tokens:
            raise ValidationError("Tick at least one record.")
        if len(self.tokens) > LOG_MAX_TICKED:
            raise ValidationError(f"At most {LOG_MAX_TICKED} ticked records at once; export by filters instead.")
        try:
            data["refs"] = list(dict.fromkeys(RecordRef.parse(token) for token in self.tokens))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return data


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
