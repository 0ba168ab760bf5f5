"""Delta query (https://learn.microsoft.com/graph/delta-query-overview, https://learn.microsoft.com/graph/delta-query-groups). Every journaled op appends to tenant.changes; a delta token seals the
change sequence number it covers, so a later round scans only the changes after it. Pages carry
@odata.nextLink until a last page with @odata.deltaLink; large groups are split across pages with
different members@delta slices; removals carry @removed changed (soft) / deleted (hard). Users selected with
`manager` carry manager@delta (https://learn.microsoft.com/graph/api/user-delta). Tokens issued before a `require_resync`
mutation answer 410 Gone with a Location header (tenant maintenance, https://learn.microsoft.com/graph/delta-query-overview)."""

from __future__ import annotations

from graph_emulator import ofilter, views
from graph_emulator.common import GraphError, Response, json_response
from graph_emulator.graphapi.context import Ctx
from graph_emulator.kinds import KINDS
from graph_emulator.odata import Query, next_link

MEMBER_REL = {"groups": "group_members", "administrativeUnits": "au_members"}


def sync_state_not_found() -> GraphError:
    return GraphError(400, "syncStateNotFound", "The sync state generation is not found. The delta token is expired "
                      "and data must be synchronized again.")


def resync_required(ctx: Ctx) -> GraphError:
    """410 Gone: the client must restart with an initial round; Location holds the delta URL with an empty
    $deltatoken [DC-delta]. The message text is not documented (ours)."""
    location = f"{ctx.base}/{ctx.version}{ctx.path}?$deltatoken="
    return GraphError(410, "resyncRequired", "Resync required. Replace any local cached copy with the results "
                      "of a new delta query.", headers={"Location": location})


def _scope(ctx: Ctx, kinds: list[str], mixed: bool) -> tuple[list[str], list[str] | None]:
    """$filter: isof('microsoft.graph.user') picks kinds (directoryObjects); id eq '...' (max 50) picks ids."""
    text = ctx.query.get("$filter")
    if not text:
        return kinds, None
    _, _, tree = ofilter.compile_filter(text)
    picked, ids, stack = [], [], [tree]
    while stack:
        node = stack.pop()
        if node[0] == "or":
            stack += [node[2], node[1]]
        elif node[0] == "func" and node[1] == "isof" and mixed:
            t = str(node[2][-1][1]).removeprefix("microsoft.graph.")
            picked += [k for k in kinds if KINDS[k].type == t]
        elif node[0] == "cmp" and node[1] == "eq" and node[2] == ("path", ["id"]):
            ids.append(str(node[3][1]))
        else:
            raise GraphError(400, "Request_UnsupportedQuery", "Unsupported query for delta: only 'id eq' and isof "
                             "filters are supported.")
    if len(ids) > 50:
        raise GraphError(400, "Request_UnsupportedQuery", "The number of 'id eq' expressions exceeds 50.")
    return (sorted(set(picked), key=kinds.index) or kinds), (ids or None)


def handle(ctx: Ctx, kinds: list[str], mixed: bool = False) -> Response:
    tenant, q = ctx.tenant, ctx.query
    bind = f"{tenant.id}:delta:{ctx.path}"
    if q.get("$top") or q.get("$orderby") or q.get("$expand"):
        raise GraphError(400, "Request_UnsupportedQuery", "The query parameter is not supported with delta.")
    token = q.get("$deltatoken") or q.get("$skiptoken")
    if token and token.lower() == "latest":
        state = {"s": tenant.seq, "ts": tenant.now(), "sel": q.select, "latest": True}
        return _page(ctx, bind, kinds, mixed, [], None, state)
    if token:
        state = ctx.codec.open(token, bind)
        if state is None:
            raise sync_state_not_found()
        if tenant.now() - state["ts"] > float(tenant.config.get("delta_token_ttl_seconds", 7 * 86400)):
            raise sync_state_not_found()
        if state["ts"] < float(tenant.meta.get("resync_before", 0.0)):
            raise resync_required(ctx)
    else:
        kinds_sel, ids = _scope(ctx, kinds, mixed)
        views_sel = q.select
        for k in kinds_sel:
            views.check_select(k, [s for s in views_sel or [] if s in views.props_of(KINDS[k].type)] or None,
                               True, tenant.premium)
        state = {"s": None, "ts": tenant.now(), "sel": views_sel, "k": kinds_sel, "ids": ids}
    if "up" not in state:  # starting a round: freeze the change range it covers
        state = {**state, "up": tenant.seq, "i": 0, "mo": 0, "last": None}
    entries = _entries(tenant, state)
    return _page(ctx, bind, kinds, mixed, entries, state, state)


def _entries(tenant, state: dict) -> list[tuple]:
    """Ordered (kind, id, change summary) for the round; initial rounds list every current object."""
    kinds, ids = state.get("k") or [], state.get("ids")
    if state["s"] is None:
        return [(k, oid, None) for k in kinds for oid in tenant.sorted_ids(k) if ids is None or oid in ids]
    agg: dict[tuple, dict] = {}
    for kind, oid, what, data in tenant.changes[state["s"]: state["up"]]:
        if kind not in kinds or (ids is not None and oid not in ids):
            continue
        e = agg.setdefault((kind, oid), {"props": set(), "members": {}, "new": False})
        if what in ("add", "restore"):
            e["new"] = True
        elif what == "upd":
            e["props"].update(data)
        elif what in ("m+", "m-"):
            e["members"][data] = what
        elif what in ("soft", "hard"):
            e["removed"] = True
        elif what == "mgr":
            e.setdefault("mgr_old", data)  # manager before the first change of the range
    return [(k, oid, e) for (k, oid), e in agg.items()]


def _page(ctx: Ctx, bind: str, kinds, mixed, entries, state, base_state) -> Response:
    tenant = ctx.tenant
    size = ctx.page_default()
    mbudget = int(tenant.config.get("delta_members_per_page", 1000))
    value: list[dict] = []
    i, mo = (state["i"], state["mo"]) if state else (0, 0)
    while state and i < len(entries) and len(value) < size:
        item, members, done = _render(ctx, entries[i], base_state, mixed)
        if item is None:
            i += 1
            continue
        if members is not None:
            part = members[mo: mo + mbudget]
            mbudget -= len(part)
            if part:
                item["members@delta"] = part
            if mo + len(part) < len(members):  # group continues on the next page with the next slice
                value.append(item)
                mo += len(part)
                break
        value.append(item)
        i, mo = i + 1, 0
        if mbudget <= 0:
            break
    body = {"@odata.context": ctx.context_url("directoryObjects" if mixed else KINDS[kinds[0]].entity_set,
                                              base_state.get("sel"))}
    path = f"/{ctx.version}{ctx.path}"
    if state and i < len(entries):
        tok = ctx.codec.seal({**base_state, "i": i, "mo": mo}, bind)
        body["@odata.nextLink"] = next_link(ctx.base, path, _bare(ctx), "$skiptoken", tok)
    else:
        tok = ctx.codec.seal({"s": base_state.get("up", base_state["s"]), "ts": tenant.now(),
                              "sel": base_state.get("sel"), "k": base_state.get("k") or kinds,
                              "ids": base_state.get("ids")}, bind)
        body["@odata.deltaLink"] = next_link(ctx.base, path, _bare(ctx), "$deltatoken", tok)
    body["value"] = value
    return json_response(200, body)


def _bare(ctx: Ctx):
    """Query options are encoded in the token; links carry only the token (https://learn.microsoft.com/graph/delta-query-overview)."""
    return Query([])


def _render(ctx: Ctx, entry: tuple, state: dict, mixed: bool):
    """-> (item or None, members@delta list or None, _)."""
    tenant = ctx.tenant
    kind, oid, e = entry
    sel = state.get("sel")
    own_sel = [s for s in sel if s in views.props_of(KINDS[kind].type) or s.startswith("extension_")] if sel else None
    typed = {"@odata.type": KINDS[kind].odata_type} if mixed else {}
    if oid not in tenant.objs[kind]:
        reason = "changed" if oid in tenant.deleted[kind] else "deleted"
        if e is None:
            return None, None, True
        return {**typed, "id": oid, "@removed": {"reason": reason}}, None, True
    obj = tenant.objs[kind][oid]
    track_members = kind in MEMBER_REL and (sel is None or "members" in sel)
    track_manager = kind == "users" and sel is not None and "manager" in sel
    if e is None or e["new"] or e.get("removed"):
        item = {**typed, **views.project(kind, obj, views.normalize_select(kind, own_sel))}
        if track_manager:
            _manager_delta(tenant, item, oid, None)
        members = [_ref(tenant, m) for m in tenant.members(MEMBER_REL[kind], oid)] if track_members else None
        return item, members or None, True
    changed = e["props"] if own_sel is None else e["props"] & set(own_sel)
    manager_changed = track_manager and "manager" in e["props"]
    member_changes = e["members"] if track_members else {}
    if not changed and not member_changes and not manager_changed:
        return None, None, True
    if "return=minimal" in (ctx.headers.get("Prefer") or ""):
        item = {**typed, "id": oid, **{p: obj.get(p) for p in sorted(changed) if p != "manager"}}
    else:
        item = {**typed, **views.project(kind, obj, views.normalize_select(kind, own_sel))}
    if manager_changed:
        _manager_delta(tenant, item, oid, e.get("mgr_old"), changed=True)
    members = [_ref(tenant, m, removed=(w == "m-")) for m, w in member_changes.items()]
    return item, members or None, True


def _manager_delta(tenant, item: dict, uid: str, old: str | None, changed: bool = False) -> None:
    """manager@delta (https://learn.microsoft.com/graph/api/user-delta): a one-entry list with the current manager; when the
    manager was removed, the previous one with @removed. Like members@delta, soft-deleted managers are not
    listed in a full round."""
    mid = tenant.managers.get(uid)
    if mid and tenant.find(mid):
        item["manager@delta"] = [_ref(tenant, mid)]
    elif changed and old:
        item["manager@delta"] = [_ref(tenant, old, removed=True)]


def _ref(tenant, mid: str, removed: bool = False) -> dict:
    kind = tenant.kind_of.get(mid, "users")
    ref = {"@odata.type": KINDS[kind].odata_type, "id": mid}
    if removed:
        ref["@removed"] = {"reason": "deleted"}
    return ref
