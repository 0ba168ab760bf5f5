"""One pager and filter helper for the list pages (tenants, jobs, log jobs, repositories, restore points...).

Every list reads its query parameters through a `ListFilter` form: a bad value (an unknown status, a page that is
not a number, a tenant out of the user's scope) is a message above the list and the unfiltered list, status 400,
never a traceback. A list then pages on the server in one of two ways:

- `offset_page`: LIMIT/OFFSET on an indexed order with a real count, for tables that stay in the thousands
  (tenants, jobs, repositories);
- `KeysetPage` / `Cursor`: a cursor naming the last row shown, for tables that grow to hundreds of thousands
  (restore points): page 4,000 costs what page 1 costs.

`render_list` renders the whole page, or the table alone for an HTMX request (the filters refresh the table in
place, see templates/_list_filters.html and templates/_pager.html).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from django import forms
from django.forms.utils import flatatt
from django.http import QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

PER_PAGE = 50
MAX_PAGE = 1_000_000
_YES_NO = [("", "Any"), ("yes", "Enabled"), ("no", "Disabled")]


class ListFilter(forms.Form):
    """The page number every offset-paged list takes; subclasses add their filters (all optional)."""

    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE,
                              error_messages={"invalid": "Page: give a page number (1, 2, ...).",
                                              "min_value": "Page: pages are numbered from 1.",
                                              "max_value": "Page: no list has that many pages."})

    def messages(self) -> list[str]:
        """The errors, each naming its field, for the message above the list."""
        out = []
        for name, errors in self.errors.items():
            label = self.fields[name].label or name.replace("_", " ").capitalize() if name in self.fields else ""
            for message in errors:
                out.append(message if message.split(":")[0] == label or not label else f"{label}: {message}")
        return out


def name_contains(label: str = "Name contains") -> forms.CharField:
    return forms.CharField(required=False, max_length=100, label=label, strip=True,
                           widget=forms.TextInput(attrs={"type": "search"}),
                           error_messages={"max_length": "Name contains: at most 100 characters."})


def enabled_choice() -> forms.ChoiceField:
    return forms.ChoiceField(required=False, choices=_YES_NO, label="State",
                             error_messages={"invalid_choice": "State: choose enabled or disabled (got %(value)s)."})


class QuickSelect(forms.Widget):
    """A select of (value, label) `options` rendered in one pass: Django's Select renders a template per
    option, and a thousand tenants cost half a second that way."""

    def __init__(self, options=(), attrs=None):
        super().__init__(attrs)
        self.options = list(options)

    def render(self, name, value, attrs=None, renderer=None):
        chosen = "" if value is None else str(value)
        options = "".join(f'<option value="{escape(key)}"{" selected" if str(key) == chosen else ""}>{escape(label)}</option>'
                          for key, label in self.options)
        return mark_safe(f'<select name="{escape(name)}"{flatatt(self.build_attrs(self.attrs, attrs))}>{options}</select>')  # noqa: S308 - every part escaped


class TenantChoiceField(forms.IntegerField):
    """A tenant filter (its id) offering the tenants given: another tenant's id is refused as unknown, with the
    same message as an id that does not exist."""

    def __init__(self, tenants):
        pairs = list(tenants.order_by("name").values_list("pk", "name"))
        super().__init__(required=False, label="Tenant", widget=QuickSelect([("", "Any tenant"), *pairs]),
                         error_messages={"invalid": "Tenant: choose one from the list."})
        self.allowed = {pk for pk, _ in pairs}

    def validate(self, value):
        super().validate(value)
        if value is not None and value not in self.allowed:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


def tenant_choice(tenants) -> TenantChoiceField:
    return TenantChoiceField(tenants)


_PLACEHOLDER = 987654321987


@cache
def _pattern(name: str) -> str:
    return reverse(name, args=[_PLACEHOLDER])


def url_of(name: str, pk: int) -> str:
    """reverse(name, args=[pk]) for a URL with one integer parameter, reversed once per process: fifty rows
    with four links each cost string replaces, not two hundred reverses."""
    return _pattern(name).replace(str(_PLACEHOLDER), str(int(pk)))


@dataclass
class ListQuery:
    """What a list page was asked: the filter form, the valid filters (empty when any was bad) and the status."""

    form: ListFilter
    filters: dict
    messages: list[str]
    params: QueryDict = field(default_factory=QueryDict, repr=False)  # what the pager's links keep

    @property
    def status(self) -> int:
        return 400 if self.messages else 200


def read_query(request, form_class, **form_kwargs) -> ListQuery:
    """The list's filters from the query string; a bad value gives messages and no filter at all (and the
    pager's links then carry none of the bad parameters)."""
    form = form_class(request.GET, **form_kwargs)
    if form.is_valid():
        return ListQuery(form, {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}, [], request.GET)
    return ListQuery(form, {}, form.messages())


def _query(params: QueryDict, **changes) -> str:
    query = params.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    return query.urlencode()


@dataclass
class Page:
    """One page of an offset-paged list, with the query strings of its neighbours (filters kept)."""

    rows: list
    number: int
    per_page: int
    total: int
    params: QueryDict = field(repr=False)
    param: str = "page"

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.rows)

    def query(self, number: int) -> str:
        return _query(self.params, **{self.param: None if number == 1 else number})

    @property
    def first_query(self) -> str:
        return self.query(1)

    @property
    def previous_query(self) -> str:
        return self.query(self.number - 1)

    @property
    def next_query(self) -> str:
        return self.query(self.number + 1)

    @property
    def last_query(self) -> str:
        return self.query(self.pages)


def offset_page(queryset, number: int | None, params: QueryDict, *, per_page: int = PER_PAGE,
                param: str = "page") -> Page:
    """Page `number` (1 when None; the last page when past the end) of an ordered queryset, with its count."""
    total = queryset.count()
    number = min(number or 1, max(1, -(-total // per_page)))
    start = (number - 1) * per_page
    rows = list(queryset[start:start + per_page]) if total else []
    return Page(rows, number, per_page, total, params, param)


class Cursor:
    """A keyset cursor: the (moment, repository id, row id) of the last row shown, as `2026-12-01T01:00:00+00:00_3_41`."""

    @staticmethod
    def text(when: datetime, group: int, pk: int) -> str:
        return f"{when.isoformat()}_{group}_{pk}"

    @staticmethod
    def parse(text: str) -> tuple[datetime, int, int]:
        """The cursor's parts; forms.ValidationError for a damaged one."""
        moment, _, rest = text.partition("_")
        group, _, pk = rest.partition("_")
        try:
            when = datetime.fromisoformat(moment)
        except ValueError:
            when = None
        digits = all(part.isascii() and part.isdigit() and len(part) < 19 for part in (group, pk))
        if when is None or when.tzinfo is None or not digits:
            raise forms.ValidationError("This page link is damaged; start again from the newest.")
        return when, int(group), int(pk)


class KeysetFilter(forms.Form):
    """The cursor every keyset-paged list takes (`after`: the last row of the previous page)."""

    after = forms.CharField(required=False, max_length=100, label="Page",
                            error_messages={"max_length": "Page: this page link is damaged; start again from the newest."})

    def clean_after(self):
        text = self.cleaned_data["after"]
        return Cursor.parse(text) if text else None

    messages = ListFilter.messages


@dataclass
class KeysetPage:
    """One page of a keyset-paged list: its rows, the cursor of the next page (None on the last) and the total
    (`exact` False: counted up to a cap, the total is "more than" it)."""

    rows: list
    next_cursor: str | None
    first: bool
    total: int
    per_page: int
    params: QueryDict = field(repr=False)
    exact: bool = True

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def next_query(self) -> str:
        return _query(self.params, after=self.next_cursor)

    @property
    def first_query(self) -> str:
        return _query(self.params, after=None)


def render_list(request, template: str, partial: str, context: dict, status: int = 200):
    """The page, or only its table (`partial`) for an HTMX request: the filters refresh the table in place.
    A bad filter is status 400 for the page; the HTMX fragment carries the same message with 200, since htmx
    does not swap an error response in."""
    # htmx restoring a pushed address it no longer has cached asks for the whole page.
    fragment = bool(request.htmx) and not request.htmx.history_restore_request
    response = render(request, partial if fragment else template, context, status=200 if fragment else status)
    response["Vary"] = "HX-Request"
    return response
