import itertools
import json
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from audittrail.trail import record
from entrabackup import objecttypes
from entrabackup.paging import render_list, url_of
from repositories.errors import RepositoryError
from restore import lists, logexplorer, selectors
from restore import plan as planner
from restore.compare import CHANGE_KINDS, report_csv, report_json
from restore.errors import CompareError, RestorePointNotFoundError
from restore.forms import (
    CompareQuery,
    ExplorerQuery,
    LogQuery,
    LogSelection,
    PointQuery,
    object_path_validate,
)
from restore.selectors import PRODUCTION
from restore.services import tenant_compare
from tenants.selectors import tenant_for

# Backed-up objects and their comparisons are the tenant's data: the restore operator's, not the viewer's.
BROWSE = "restore.browse_backups"


class BadQuery(Exception):
    """A query parameter or path part that cannot be used; its messages are shown with a 400."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def _clear_errors(view):
    """Bad parameters, missing restore points and unusable repositories become a page that says why."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except BadQuery as exc:
            return _error(request, 400, "This page cannot show that", exc.messages)
        except RestorePointNotFoundError as exc:
            return _error(request, 404, "No such restore point", [str(exc)])
        except CompareError as exc:
            return _error(request, 400, "These cannot be compared", [str(exc)])
        except RepositoryError as exc:
            return _error(request, 503, "The repository cannot be read", [str(exc)])
    return wrapper


def _error(request, status: int, heading: str, reasons: list[str]):
    return render(request, "restore/restore_error.html", {"heading": heading, "reasons": reasons}, status=status)


def _query(form_class, request):
    form = form_class(request.GET)
    if not form.is_valid():
        raise BadQuery([f"{name}: {message}" for name, errors in form.errors.items() for message in errors])
    return form.cleaned_data


@permission_required("tenants.view_tenant", raise_exception=True)
@_clear_errors
def restore_index(request):
    query, page = lists.tenant_page(request, "tenants.view_tenant")
    return render_list(request, "restore/restore_index.html", "restore/_restore_tenant_table.html",
                       {"query": query, "page": lists.with_points(page)}, query.status)


@permission_required("tenants.view_tenant", raise_exception=True)
@_clear_errors
def restore_point_list(request, tenant_pk):
    tenant = tenant_for(request.user, tenant_pk)
    query, page = lists.restore_point_page(request, tenant)
    return render_list(request, "restore/restore_point_list.html", "restore/_restore_point_table.html",
                       {"tenant": tenant, "query": query, "page": page, "explore_url": reverse(
                           "restore:object_explorer", args=[tenant.pk]), "compare_url": reverse(
                           "restore:compare_view", args=[tenant.pk])}, query.status)


@permission_required(BROWSE, raise_exception=True)
@_clear_errors
def object_explorer(request, tenant_pk):
    tenant, query = tenant_for(request.user, tenant_pk, BROWSE), _query(ExplorerQuery, request)
    filters = {"object_type": query["type"], "search": query["q"]}
    deleted = {"": False, "deleted": "only", "all": True}[query["state"]]
    with selectors.tenant_backups(tenant) as backups:
        ref = backups.find(query["rp"])
        rows, total, types = backups.explore(ref, page=query["page"], include_deleted=deleted, **filters)
        refs = backups.restore_points()
    context = {"tenant": tenant, "ref": ref, "rows": rows, "total": total, "types": types, "page": query["page"],
               "has_next": query["page"] * 50 < total, "refs": refs, "state": query["state"], **filters}
    template = "restore/_object_rows.html" if request.htmx else "restore/object_explorer.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


@permission_required(BROWSE, raise_exception=True)
@_clear_errors
def object_detail(request, tenant_pk, object_type, object_id):
    tenant, query = tenant_for(request.user, tenant_pk, BROWSE), _query(PointQuery, request)
    try:
        object_path_validate(object_type, object_id)
    except ValidationError as exc:
        raise BadQuery(exc.messages) from None
    with selectors.tenant_backups(tenant) as backups:
        ref = backups.find(query["rp"])
        view = backups.object_view(ref, object_type, object_id)
    if view["row"] is None and not view["history"]:
        return _error(request, 404, "No such object", ["No such object in this tenant's backups."])
    data = view["row"].data if view["row"] else None
    return render(request, "restore/object_detail.html", {
        "tenant": tenant, "ref": ref, "object_type": object_type, "object_id": object_id, **view,
        "data_json": json.dumps(data, indent=2, sort_keys=True) if data else "",
    })


COMPARE_ROWS_PER_PAGE = 100
PRODUCTION_CACHE_SECONDS = 300  # filters and pages of a production report reuse one live read


def _compare_report(tenant, query):
    args = {"tenant": tenant, "source": query["source"], "target": query["to"], "object_id": query["object"],
            "include_volatile": query["volatile"]}
    if query["to"] != PRODUCTION:
        return tenant_compare(**args)
    key = f"compare:{tenant.pk}:{query['source']}:{query['object']}:{query['volatile']}"
    report = cache.get(key)
    if report is None:
        report = tenant_compare(**args)
        cache.set(key, report, PRODUCTION_CACHE_SECONDS)
    return report


@permission_required(BROWSE, raise_exception=True)
@_clear_errors
def compare_view(request, tenant_pk):
    tenant, query = tenant_for(request.user, tenant_pk, BROWSE), _query(CompareQuery, request)
    report = _compare_report(tenant, query).filtered(types=query["type"], changes=[query["change"]] if query["change"] else None)
    rows, page = list(report.rows()), query["page"]
    with selectors.tenant_backups(tenant) as backups:
        refs = backups.restore_points()
    context = {"tenant": tenant, "report": report, "refs": refs, "query": query, "total": len(rows),
               "rows": rows[(page - 1) * COMPARE_ROWS_PER_PAGE:page * COMPARE_ROWS_PER_PAGE], "page": page,
               "has_next": page * COMPARE_ROWS_PER_PAGE < len(rows), "counts": report.counts(),
               "filters": _without_page(request), "types": objecttypes.NAMES,
               "change_kinds": CHANGE_KINDS, "can_restore": request.user.has_perm("restore.run_restore", tenant),
               # What a restore plan can take from this report: the objects of the types it writes back.
               "restore_ids": sorted({c.object_id for c in report.changes if c.object_type in planner.WRITABLE_TYPES})}
    template = "restore/_compare_report.html" if request.htmx else "restore/compare_view.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


def _without_page(request) -> str:
    """The query string of the report's filters, for its paging and export links."""
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    return params.urlencode()


@permission_required(BROWSE, raise_exception=True)
@_clear_errors
def compare_export(request, tenant_pk):
    tenant, query = tenant_for(request.user, tenant_pk, BROWSE), _query(CompareQuery, request)
    report = _compare_report(tenant, query).filtered(types=query["type"], changes=[query["change"]] if query["change"] else None)
    name = f"compare-{tenant.pk}-{report.source}-{report.target}".replace(":", "_")
    if query["format"] == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        report_csv(report, response)
    else:
        response = HttpResponse(report_json(report), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{name}.{query["format"] or "json"}"'
    record("export.compare", target=f"{name}.{query['format'] or 'json'}", tenant=tenant,
           detail={"from": str(report.source), "to": str(report.target), "format": query["format"] or "json",
                   "objects": len(report.changes)})
    return response


# The log explorer (docs/log-explorer.md). Log records can hold anything about anyone in the tenant: they
# need the log explorer's own permission (the restore operator's, docs/access.md) on that tenant.
LOG_PERMISSIONS = ("restore.explore_logs",)
# "Revert these changes" hands ticked directory audit records to a restore plan (restore.restore_views).
REVERT_PERMISSIONS = (*LOG_PERMISSIONS, "restore.run_restore")


@permission_required(LOG_PERMISSIONS, raise_exception=True)
def log_index(request):
    query, page = lists.tenant_page(request, "restore.explore_logs")
    for tenant in page.rows:
        tenant.search_url = url_of("restore:log_explorer", tenant.pk)
    return render_list(request, "restore/log_index.html", "restore/_log_tenant_table.html",
                       {"query": query, "page": page}, query.status)


@permission_required(LOG_PERMISSIONS, raise_exception=True)
def log_explorer(request, tenant_pk):
    tenant, form = tenant_for(request.user, tenant_pk, *LOG_PERMISSIONS), LogQuery(request.GET)
    context = {"tenant": tenant, "form": form, "query": _log_querystring(request),
               "may_revert": request.user.has_perms(REVERT_PERMISSIONS, tenant)}
    status = 200
    if form.is_valid():
        query = form.cleaned_data
        context["result"] = logexplorer.search_page(tenant, start=query["start_at"], end=query["end_at"],
                                                    filters=form.filters(), page=query["page"],
                                                    per_page=query["per_page"])
    else:
        status = 400
    template = "restore/_log_rows.html" if request.htmx else "restore/log_explorer.html"
    response = render(request, template, context, status=status)
    response["Vary"] = "HX-Request"
    return response


@permission_required(LOG_PERMISSIONS, raise_exception=True)
@_clear_errors
def log_record_detail(request, tenant_pk):
    tenant = tenant_for(request.user, tenant_pk, *LOG_PERMISSIONS)
    try:
        ref = logexplorer.RecordRef.parse(request.GET.get("id", ""))
    except ValueError as exc:
        raise BadQuery([str(exc)]) from None
    rows = logexplorer.rows_of(tenant, [ref])
    if not rows:
        return _error(request, 404, "No such log record", ["This tenant's log index holds no such record."])
    context, status = {"tenant": tenant, "row": rows[0], "related": _related_query(rows[0])}, 200
    try:
        with logexplorer.ChunkReader() as reader:
            context["record"] = logexplorer.record_view(ref.log_type, reader.record(rows[0]))
    except RepositoryError as exc:
        context["unreadable"], status = str(exc), 503
    return render(request, "restore/log_record_detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(LOG_PERMISSIONS, raise_exception=True)
@_clear_errors
def log_export(request, tenant_pk):
    tenant = tenant_for(request.user, tenant_pk, *LOG_PERMISSIONS)
    if request.method == "POST":
        selection = _valid(LogSelection(request.POST))
        rows, export_format = iter(logexplorer.rows_of(tenant, selection["refs"])), selection["format"] or "csv"
        what = {"records": len(selection["refs"])}
    else:
        query = _valid(LogQuery(request.GET))
        rows = logexplorer.rows_walk(tenant, start=query["start_at"], end=query["end_at"],
                                     filters=LogQuery.filters_of(query))
        export_format = query["format"] or "csv"
        what = {key: str(value) for key, value in query.items() if value not in (None, "", [])}
    record("export.logs", target=f"log explorer export ({export_format})", tenant=tenant, detail=what)
    return _export_response(rows, export_format, tenant)


@require_POST
@permission_required(REVERT_PERMISSIONS, raise_exception=True)
@_clear_errors
def log_revert(request, tenant_pk):
    """The ticked directory audit records, shown once more before they go to the plan that reverts them."""
    tenant = tenant_for(request.user, tenant_pk, *REVERT_PERMISSIONS)
    refs = _valid(LogSelection(request.POST))["refs"]
    rows = logexplorer.rows_of(tenant, [ref for ref in refs if ref.log_type == "audit"])
    if not rows:
        raise BadQuery(["Only directory audit records can be reverted, and none of the ticked records is one."])
    return render(request, "restore/log_revert.html", {
        "tenant": tenant, "rows": rows, "left_out": len(refs) - len(rows),
        "audit_ids": " ".join(row["record_id"] for row in rows)})


def _export_response(rows, export_format: str, tenant) -> StreamingHttpResponse:
    """The export streamed from the chunks; the first record is read before the response starts, so a
    repository that cannot be opened is a page that says why, not a broken download."""
    reader = logexplorer.ChunkReader()
    first = next(rows, None)
    if first is not None:
        try:
            reader.record(first)
        except RepositoryError:
            reader.close()
            raise
        rows = itertools.chain([first], rows)
    stream = (logexplorer.export_json if export_format == "json" else logexplorer.export_csv)(rows, reader)
    content_type = "application/json" if export_format == "json" else "text/csv; charset=utf-8"
    response = StreamingHttpResponse(stream, content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="logs-tenant{tenant.pk}-{stamp}.{export_format}"'
    return response


def _related_query(row) -> str:
    """The explorer's query for the records of the same operation: its correlation id within a day of it (a
    correlation id has no index of its own: a narrow range keeps the search short)."""
    if not row["correlation_id"]:
        return ""
    day = timedelta(days=1)
    return urlencode({"correlation_id": row["correlation_id"], "start": (row["at"] - day).isoformat(),
                      "end": (row["at"] + day).isoformat()})


def _valid(form):
    if not form.is_valid():
        raise BadQuery([message for errors in form.errors.values() for message in errors])
    return form.cleaned_data


def _log_querystring(request) -> str:
    """The explorer's filters as a query string, without the page (for export links and the pager)."""
    params = request.GET.copy()
    for name in ("page", "format"):
        params.pop(name, None)
    return params.urlencode()
