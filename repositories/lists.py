"""The Repositories page's two lists (repositories, log repositories): filters and pages (entrabackup/paging.py).
One set of filters narrows both; each list has its own page (`page`, `log_page`)."""

from django import forms

from entrabackup import paging
from repositories.selectors import log_repositories_visible_to, repositories_visible_to


class RepositoryFilter(paging.ListFilter):
    q = paging.name_contains()
    state = paging.enabled_choice()
    log_page = forms.IntegerField(required=False, min_value=1, max_value=paging.MAX_PAGE, label="Log repositories page",
                                  error_messages={"invalid": "Log repositories page: give a page number (1, 2, ...).",
                                                  "min_value": "Log repositories page: pages are numbered from 1.",
                                                  "max_value": "Log repositories page: there are not that many pages."})


def _narrowed(rows, filters: dict):
    if filters.get("q"):
        rows = rows.filter(name__icontains=filters["q"])
    if filters.get("state"):
        rows = rows.filter(enabled=filters["state"] == "yes")
    return rows.order_by("name", "pk")


def repository_pages(request):
    """(query, page of repositories, page of log repositories)."""
    query = paging.read_query(request, RepositoryFilter)
    repositories = _narrowed(repositories_visible_to(request.user), query.filters)
    log_repositories = _narrowed(log_repositories_visible_to(request.user), query.filters)
    return (query, paging.offset_page(repositories, query.filters.get("page"), query.params),
            paging.offset_page(log_repositories, query.filters.get("log_page"), query.params, param="log_page"))
