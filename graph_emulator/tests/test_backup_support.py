"""What the directory backup collectors need: manager@delta, 410 Gone resync, application / service
principal owners, owner and manager mutations, directory extension property discovery."""

from __future__ import annotations

from .test_delta import _round


def test_user_delta_with_manager_selected_returns_manager_delta(fresh):
    g = fresh(users=20)
    export = g.export()
    items, link, _ = _round(g, "/v1.0/users/delta?$select=displayName,manager")
    by_id = {i["id"]: i for i in items}
    for uid, mid in export["managers"].items():
        assert by_id[uid]["manager@delta"] == [{"@odata.type": "#microsoft.graph.user", "id": mid}]
    assert all("manager@delta" not in i for i in items if i["id"] not in export["managers"])
    plain, _, _ = _round(g, "/v1.0/users/delta?$select=displayName")
    assert all("manager@delta" not in i for i in plain)


def test_manager_changes_and_removals_surface_in_manager_delta(fresh):
    g = fresh(users=20)
    export = g.export()
    users = sorted(u["id"] for u in export["users"])
    _, link, _ = _round(g, "/v1.0/users/delta?$select=displayName,manager")
    reported = next(u for u in users[2:] if u in export["managers"] and export["managers"][u] != users[1])
    old = export["managers"][reported]
    g.mutate("set_manager", user_id=users[0], manager_id=users[1])
    g.mutate("set_manager", user_id=reported, manager_id=None)
    items, link, _ = _round(g, link)
    by_id = {i["id"]: i for i in items}
    assert by_id[users[0]]["manager@delta"] == [{"@odata.type": "#microsoft.graph.user", "id": users[1]}]
    assert by_id[reported]["manager@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": old, "@removed": {"reason": "deleted"}}]
    g.mutate("hard_delete", id=users[1])  # a permanently deleted manager leaves its reports without one
    items, _, _ = _round(g, link)
    by_id = {i["id"]: i for i in items}
    assert by_id[users[1]]["@removed"] == {"reason": "deleted"}
    assert by_id[users[0]]["manager@delta"][0]["@removed"] == {"reason": "deleted"}
    assert users[0] not in g.export()["managers"]


def test_require_resync_answers_410_gone_with_location_until_a_new_round(fresh):
    g = fresh(users=10)
    _, link, _ = _round(g, "/v1.0/groups/delta")
    g.mutate("require_resync")
    r = g.get(link)
    assert r.status_code == 410
    assert r.json()["error"]["code"] == "resyncRequired"
    assert r.headers["Location"].endswith("/v1.0/groups/delta?$deltatoken=")
    items, new_link, _ = _round(g, "/v1.0/groups/delta")
    assert items and g.get(new_link).status_code == 200


def test_applications_and_service_principals_have_owners(fresh):
    g = fresh(users=30)
    export = g.export()
    assert export["application_owners"] and export["servicePrincipal_owners"] is not None
    app, owners = next(iter(export["application_owners"].items()))
    listed = g.all_pages(f"/v1.0/applications/{app}/owners?$select=id")
    assert sorted(o["id"] for o in listed) == sorted(owners)
    assert all(o["@odata.type"] == "#microsoft.graph.user" for o in listed)
    expanded = g.all_pages("/v1.0/applications?$select=id&$expand=owners($select=id)")
    assert {a["id"]: sorted(o["id"] for o in a["owners"]) for a in expanded if a["owners"]} == {
        a: sorted(o) for a, o in export["application_owners"].items()}
    sps = g.all_pages("/v1.0/servicePrincipals?$select=id&$expand=owners($select=id)")
    assert {s["id"] for s in sps if s["owners"]} == set(export["servicePrincipal_owners"])


def test_owner_mutations_and_hard_delete_of_an_owner(fresh):
    g = fresh(users=20)
    export = g.export()
    app = export["applications"][0]["id"]
    user = sorted(u["id"] for u in export["users"])[4]
    g.mutate("add_owner", object_id=app, owner_id=user)
    assert user in g.export()["application_owners"][app]
    g.mutate("remove_owner", object_id=app, owner_id=user)
    assert user not in g.export()["application_owners"].get(app, [])
    g.mutate("add_owner", object_id=app, owner_id=user)
    g.mutate("hard_delete", id=user)
    assert user not in g.export()["application_owners"].get(app, [])


def test_available_extension_properties_name_what_users_return_when_selected(fresh):
    g = fresh(users=10)
    r = g.http.post("/v1.0/directoryObjects/getAvailableExtensionProperties", json={})
    assert r.status_code == 200
    (prop,) = r.json()["value"]
    assert prop["name"].startswith("extension_") and prop["targetObjects"] == ["User"]
    users = g.all_pages(f"/v1.0/users?$select=id,{prop['name']}")
    assert any(u.get(prop["name"]) for u in users)
    assert g.get("/v1.0/directoryObjects/getAvailableExtensionProperties").status_code == 405
