import json

from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import render

from restore import selectors
from restore.errors import RestorePointNotFoundError
from tenants.selectors import tenant_for


@permission_required("tenants.view_tenant", raise_exception=True)
def restore_index(request):
    return render(request, "restore/restore_index.html", {"rows": selectors.tenant_with_points(request.user)})


@permission_required("tenants.view_tenant", raise_exception=True)
def restore_point_list(request, tenant_pk):
    tenant = tenant_for(request.user, tenant_pk)
    return render(request, "restore/restore_point_list.html", {"tenant": tenant, "refs": selectors.restore_points(tenant)})


@permission_required("tenants.view_tenant", raise_exception=True)
def object_explorer(request, tenant_pk):
    tenant = tenant_for(request.user, tenant_pk)
    ref = _point(tenant, request.GET.get("rp", "latest"))
    page = int(request.GET["page"]) if request.GET.get("page", "").isdigit() and int(request.GET["page"]) > 0 else 1
    filters = {"object_type": request.GET.get("type", ""), "search": request.GET.get("q", "").strip()}
    rows, total, types = selectors.explore(tenant, ref, page=page, **filters)
    context = {"tenant": tenant, "ref": ref, "rows": rows, "total": total, "types": types, "page": page,
               "has_next": page * 50 < total, "refs": selectors.restore_points(tenant), **filters}
    template = "restore/_object_rows.html" if request.htmx else "restore/object_explorer.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


@permission_required("tenants.view_tenant", raise_exception=True)
def object_detail(request, tenant_pk, object_type, object_id):
    tenant = tenant_for(request.user, tenant_pk)
    ref = _point(tenant, request.GET.get("rp", "latest"))
    view = selectors.object_view(tenant, ref, object_type, object_id)
    if view["row"] is None and not view["history"]:
        raise Http404("No such object in this tenant's backups.")
    data = view["row"].data if view["row"] else None
    return render(request, "restore/object_detail.html", {
        "tenant": tenant, "ref": ref, "object_type": object_type, "object_id": object_id, **view,
        "data_json": json.dumps(data, indent=2, sort_keys=True) if data else "",
    })


def _point(tenant, restore_point: str):
    try:
        return selectors.restore_point_find(tenant, restore_point or "latest")
    except RestorePointNotFoundError as exc:
        raise Http404(str(exc)) from None


def log_index(request):
    return render(request, "restore/log_index.html")
