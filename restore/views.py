import json
from functools import wraps

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import render

from repositories.errors import RepositoryError
from restore import selectors
from restore.errors import RestorePointNotFoundError
from restore.forms import ExplorerQuery, PointQuery, object_path_validate
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
        refs = backups.restore_points()
    return render(request, "restore/restore_point_list.html", {"tenant": tenant, "refs": refs})


@permission_required("tenants.view_tenant", raise_exception=True)
@_clear_errors
def object_explorer(request, tenant_pk):
    tenant, query = tenant_for(request.user, tenant_pk), _query(ExplorerQuery, request)
    filters = {"object_type": query["type"], "search": query["q"]}
    with selectors.tenant_backups(tenant) as backups:
        ref = backups.find(query["rp"])
        rows, total, types = backups.explore(ref, page=query["page"], **filters)
        refs = backups.restore_points()
    context = {"tenant": tenant, "ref": ref, "rows": rows, "total": total, "types": types, "page": query["page"],
               "has_next": query["page"] * 50 < total, "refs": refs, **filters}
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


def log_index(request):
    return render(request, "restore/log_index.html")
