import json
from functools import wraps

from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render

from entrabackup import objecttypes
from repositories.errors import RepositoryError
from restore import selectors
from restore.compare import CHANGE_KINDS, report_csv, report_json
from restore.errors import CompareError, RestorePointNotFoundError
from restore.forms import CompareQuery, ExplorerQuery, PointQuery, object_path_validate
from restore.selectors import PRODUCTION
from restore.services import tenant_compare
from tenants.selectors import tenant_for


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
    return render(request, "restore/restore_index.html", {"rows": selectors.tenant_with_points(request.user)})


@permission_required("tenants.view_tenant", raise_exception=True)
@_clear_errors
def restore_point_list(request, tenant_pk):
    tenant = tenant_for(request.user, tenant_pk)
    with selectors.tenant_backups(tenant) as backups:
        rows = backups.with_previous()
    return render(request, "restore/restore_point_list.html", {"tenant": tenant, "rows": rows})


@permission_required("tenants.view_tenant", raise_exception=True)
@_clear_errors
def object_explorer(request, tenant_pk):
    tenant, query = tenant_for(request.user, tenant_pk), _query(ExplorerQuery, request)
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


@permission_required("tenants.view_tenant", raise_exception=True)
@_clear_errors
def object_detail(request, tenant_pk, object_type, object_id):
    tenant, query = tenant_for(request.user, tenant_pk), _query(PointQuery, request)
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


@permission_required("tenants.view_tenant", raise_exception=True)
@_clear_errors
def compare_view(request, tenant_pk):
    tenant, query = tenant_for(request.user, tenant_pk), _query(CompareQuery, request)
    report = _compare_report(tenant, query).filtered(types=query["type"], changes=[query["change"]] if query["change"] else None)
    rows, page = list(report.rows()), query["page"]
    with selectors.tenant_backups(tenant) as backups:
        refs = backups.restore_points()
    context = {"tenant": tenant, "report": report, "refs": refs, "query": query, "total": len(rows),
               "rows": rows[(page - 1) * COMPARE_ROWS_PER_PAGE:page * COMPARE_ROWS_PER_PAGE], "page": page,
               "has_next": page * COMPARE_ROWS_PER_PAGE < len(rows), "counts": report.counts(),
               "filters": _without_page(request), "types": objecttypes.NAMES,
               "change_kinds": CHANGE_KINDS}
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


@permission_required("tenants.view_tenant", raise_exception=True)
@_clear_errors
def compare_export(request, tenant_pk):
    tenant, query = tenant_for(request.user, tenant_pk), _query(CompareQuery, request)
    report = _compare_report(tenant, query).filtered(types=query["type"], changes=[query["change"]] if query["change"] else None)
    name = f"compare-{tenant.pk}-{report.source}-{report.target}".replace(":", "_")
    if query["format"] == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        report_csv(report, response)
    else:
        response = HttpResponse(report_json(report), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{name}.{query["format"] or "json"}"'
    return response


def log_index(request):
    return render(request, "restore/log_index.html")
