"""Delta query: full round, incremental changes, @removed reasons, members@delta split across pages,
$select tracking, Prefer: return=minimal, $deltatoken=latest, syncStateNotFound after the TTL."""

from __future__ import annotations


def _round(g, url: str, **kw) -> tuple[list[dict], str, int]:
    items, pages = [], 0
    while True:
        body = g.get(url, **kw).json()
        pages += 1
        assert not ("@odata.nextLink" in body and "@odata.deltaLink" in body)
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]


def test_initial_user_round_lists_every_user_then_ends_with_delta_link(fresh):
    g = fresh(users=30)
    items, link, pages = _round(g, "/v1.0/users/delta")
    assert {u["id"] for u in items} == {u["id"] for u in g.export()["users"]}
    assert "$deltatoken=" in link and pages >= 1


def test_incremental_round_reports_updates_and_removals_with_reasons(fresh):
    g = fresh(users=30)
    _, link, _ = _round(g, "/v1.0/users/delta?$select=displayName,jobTitle")
    users = g.export()["users"]
    g.mutate("update_user", id=users[1]["id"], properties={"jobTitle": "Chief Backup Officer"})
    g.mutate("update_user", id=users[2]["id"], properties={"city": "Oslo"})  # not selected: not tracked
    g.mutate("delete_user", id=users[3]["id"])
    g.mutate("delete_user", id=users[4]["id"])
    g.mutate("hard_delete", id=users[4]["id"])
    items, _, _ = _round(g, link)
    by_id = {i["id"]: i for i in items}
    assert by_id[users[1]["id"]]["jobTitle"] == "Chief Backup Officer"
    assert set(by_id[users[1]["id"]]) == {"id", "displayName", "jobTitle"}
    assert users[2]["id"] not in by_id
    assert by_id[users[3]["id"]]["@removed"] == {"reason": "changed"}
    assert by_id[users[4]["id"]]["@removed"] == {"reason": "deleted"}


def test_prefer_return_minimal_returns_only_changed_properties(fresh):
    g = fresh(users=20)
    _, link, _ = _round(g, "/v1.0/users/delta?$select=displayName,jobTitle,mobilePhone")
    uid = g.export()["users"][0]["id"]
    g.mutate("update_user", id=uid, properties={"mobilePhone": "+1 555 0100"})
    items, _, _ = _round(g, link, headers={"Prefer": "return=minimal"})
    assert items == [{"id": uid, "mobilePhone": "+1 555 0100"}]


def test_group_delta_splits_large_member_lists_across_pages_and_reports_member_removal(fresh, emu):
    g = fresh(users=40)
    emu.control.configure(g.tid, delta_members_per_page=7)
    items, link, pages = _round(g, "/v1.0/groups/delta")
    export = g.export()
    big = max(export["group_members"], key=lambda k: len(export["group_members"][k]))
    slices = [i for i in items if i["id"] == big]
    assert len(slices) > 1 and pages > 1
    assert all(s["displayName"] == slices[0]["displayName"] for s in slices)
    union = [m["id"] for s in slices for m in s["members@delta"]]
    assert sorted(union) == sorted(export["group_members"][big])
    member = export["group_members"][big][0]
    g.mutate("remove_member", group_id=big, member_id=member)
    changed, _, _ = _round(g, link)
    entry = next(i for i in changed if i["id"] == big)
    assert {"@odata.type": "#microsoft.graph.user", "id": member, "@removed": {"reason": "deleted"}} in \
        entry["members@delta"]


def test_soft_deleted_user_keeps_memberships_in_group_delta(fresh):
    g = fresh(users=20)
    _, link, _ = _round(g, "/v1.0/groups/delta")
    uid = g.export()["users"][3]["id"]
    g.mutate("delete_user", id=uid)
    items, _, _ = _round(g, link)
    assert all(m["id"] != uid for i in items for m in i.get("members@delta", []))


def test_deltatoken_latest_returns_only_a_delta_link(fresh):
    g = fresh(users=20)
    body = g.get("/v1.0/users/delta?$deltatoken=latest").json()
    assert body["value"] == [] and "@odata.deltaLink" in body
    uid = g.export()["users"][0]["id"]
    g.mutate("update_user", id=uid, properties={"jobTitle": "Now"})
    items, _, _ = _round(g, body["@odata.deltaLink"])
    assert [i["id"] for i in items] == [uid]


def test_expired_delta_token_answers_sync_state_not_found(fresh, emu):
    g = fresh(users=10)
    emu.control.configure(g.tid, delta_token_ttl_seconds=600)
    _, link, _ = _round(g, "/v1.0/users/delta")
    g.mutate("advance_clock", seconds=601)
    r = g.get(link)
    if r.status_code == 401:  # our token expired too: get a fresh one, the delta token stays expired
        g2 = type(g)(emu, g.tenant, ["User.Read.All"])
        r = g2.get(link)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "syncStateNotFound"
    assert err["message"] == ("The sync state generation is not found. The delta token is expired and data must be "
                              "synchronized again.")


def test_directory_objects_delta_with_isof_filter_returns_typed_users_and_groups(fresh):
    g = fresh(users=15)
    items, _, _ = _round(g, "/v1.0/directoryObjects/delta?$filter=isof('microsoft.graph.user') or "
                            "isof('microsoft.graph.group')")
    types = {i["@odata.type"] for i in items}
    assert types == {"#microsoft.graph.user", "#microsoft.graph.group"}


def test_other_delta_endpoints_complete_a_round(fresh):
    g = fresh(users=15)
    for path in ("/v1.0/applications/delta", "/v1.0/servicePrincipals/delta", "/v1.0/administrativeUnits/delta",
                 "/v1.0/directory/administrativeUnits/delta", "/v1.0/devices/delta", "/v1.0/contacts/delta",
                 "/v1.0/directoryRoles/delta", "/v1.0/oauth2PermissionGrants/delta"):
        items, link, _ = _round(g, path)
        assert items and link
