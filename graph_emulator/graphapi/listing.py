"""Generic collection listing: filter/search/select/orderby/$count, server-driven paging with opaque
$skiptoken (keyset on id, sealed), $expand with its real limits, the $count path segment."""

from __future__ import annotations

import bisect

from graph_emulator import odata, views
from graph_emulator.common import GraphError, Response, bad_request, json_response
from graph_emulator.graphapi.context import Ctx

SORTABLE_BY_DEFAULT = {"displayName", "userPrincipalName"}  # https://learn.microsoft.com/graph/aad-advanced-queries
EXPAND_MAX_ITEMS = 20
EXPAND_MAX_PAGE = 100


def expired_token() -> GraphError:
    return GraphError(400, "Directory_ExpiredPageToken",
                      "The specified page token value has expired and can no longer be included in your request.")


def _matchers(ctx: Ctx, directory: bool):
    q = ctx.query
    odata.check_search(q)
    pred = odata.compile_filter(q, directory)
    search = odata.compile_search(q)
    if q.get("$orderby") and directory:
        field = q.get("$orderby").split()[0]
        if (field not in SORTABLE_BY_DEFAULT or q.get("$filter") or search) and not q.advanced:
            raise GraphError(400, "Request_UnsupportedQuery", "Unsupported Query.")
    if pred and search:
        return lambda o: pred(o) and search(o)
    return pred or search


def count_segment(ctx: Ctx, objects) -> Response:
    """GET .../$count: text/plain integer, only with ConsistencyLevel: eventual (https://learn.microsoft.com/graph/aad-advanced-queries)."""
    if not ctx.query.eventual:
        raise bad_request("$count is not currently supported.")
    match = _matchers(ctx, True)
    n = sum(1 for o in objects if match is None or match(o))
    return Response(200, str(n).encode(), {}, "text/plain")


def list_ids(ctx: Ctx, kind_of, ids: list[str], get, entity_set: str, *, typed: bool = False,
             directory: bool = True, max_top: int = 999, expand=None, paging: bool = True,
             check_kind: str | None = None) -> Response:
    """List objects whose ids are ``ids`` (sorted), fetched with ``get(id)``; ``kind_of(obj)`` names the view."""
    q = ctx.query
    match = _matchers(ctx, directory)
    select = q.select
    if check_kind:
        views.check_select(check_kind, select, True, ctx.tenant.premium)
    size = odata.top(q, ctx.page_default(), max_top) if paging else len(ids) or 1
    if q.get("$expand"):
        if q.advanced:
            raise GraphError(400, "Request_UnsupportedQuery", "Unsupported Query.")
        size = min(size, EXPAND_MAX_PAGE)  # parent page capped at 100 with $expand (https://learn.microsoft.com/graph/query-parameters#expand)
    bind = f"{ctx.tenant.id}:{ctx.path}"
    state = None
    if q.get("$skiptoken"):
        state = ctx.codec.open(q.get("$skiptoken"), bind)
        if state is None:
            raise expired_token()
    if q.get("$orderby"):
        page, more, nxt = _ordered_page(ids, get, match, q.get("$orderby"), size, state)
    else:
        page, more, nxt = _keyset_page(ids, get, match, size, state)
    body = {"@odata.context": ctx.context_url(entity_set, select)}
    if q.count and state is None:
        body["@odata.count"] = sum(1 for i in ids if (o := get(i)) is not None and (match is None or match(o)))
    if more and paging:
        body["@odata.nextLink"] = odata.next_link(ctx.base, f"/{ctx.version}{ctx.path}", q, "$skiptoken",
                                                  ctx.codec.seal(nxt, bind))
    sel_cache: dict[str, tuple | None] = {}
    value = []
    for obj in page:
        kind = kind_of(obj)
        if kind not in sel_cache:
            if check_kind is None:
                views.check_select(kind, _own(kind, select), True, ctx.tenant.premium)
            sel_cache[kind] = views.normalize_select(kind, _own(kind, select))
        item = views.project(kind, obj, sel_cache[kind], typed)
        if expand:
            expand(ctx, kind, obj, item)
        value.append(item)
    body["value"] = value
    return json_response(200, body)


def _keyset_page(ids, get, match, size, state):
    start = bisect.bisect_right(ids, state["a"]) if state else 0
    page, i, n = [], start, len(ids)
    while i < n and len(page) < size:
        obj = get(ids[i])
        i += 1
        if obj is not None and (match is None or match(obj)):
            page.append(obj)
    more = False
    while i < n:  # peek for one more match so the last page carries no nextLink
        obj = get(ids[i])
        if obj is not None and (match is None or match(obj)):
            more = True
            break
        i += 1
    return page, more, ({"a": page[-1]["id"]} if page else None)


def _ordered_page(ids, get, match, orderby: str, size, state):
    parts = orderby.split()
    field, desc = parts[0], len(parts) > 1 and parts[1].lower() == "desc"
    objs = [o for i in ids if (o := get(i)) is not None and (match is None or match(o))]
    objs.sort(key=lambda o: (str(o.get(field) or "").lower(), o["id"]), reverse=desc)
    off = state["o"] if state else 0
    page = objs[off: off + size]
    return page, off + size < len(objs), {"o": off + size}


def get_one(ctx: Ctx, kind: str, obj: dict, entity_set: str, typed: bool = False) -> Response:
    select = ctx.query.select
    views.check_select(kind, select, False, ctx.tenant.premium)
    sel = views.normalize_select(kind, select)
    body = {"@odata.context": ctx.context_url(entity_set, select, entity=True)}
    body.update(views.project(kind, obj, sel, typed))
    return json_response(200, body)


def _own(kind: str, select):
    """In mixed directoryObject lists a $select names properties of any member type; keep this type's."""
    if not select:
        return select
    own = views.props_of(views.KINDS[kind].type)
    return [s for s in select if s in own or s.startswith("extension_")] or ["id"]
