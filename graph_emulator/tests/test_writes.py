"""Writes, deleted items + restore, $batch, audit records (shape, arrival delay, retention), sign-ins."""

from __future__ import annotations

import orjson

from graph_emulator.tests.conftest import fixture
from graph_emulator.tests.schema_check import check_object


def test_delete_user_soft_deletes_and_restore_brings_it_back(fresh):
    g = fresh()
    uid = g.export()["users"][5]["id"]
    assert g.http.delete(f"/v1.0/users/{uid}").status_code == 204
    assert g.get(f"/v1.0/users/{uid}").status_code == 404
    listed = g.get("/v1.0/directory/deletedItems/microsoft.graph.user").json()["value"]
    assert [u["id"] for u in listed] == [uid] and listed[0]["@odata.type"] == "#microsoft.graph.user"
    one = g.get(f"/v1.0/directory/deletedItems/{uid}?$select=id,deletedDateTime").json()
    assert one["deletedDateTime"]
    r = g.http.post(f"/v1.0/directory/deletedItems/{uid}/restore")
    assert r.status_code == 200 and r.json()["id"] == uid and r.json()["@odata.type"] == "#microsoft.graph.user"
    assert g.get(f"/v1.0/users/{uid}").status_code == 200


def test_security_groups_are_deleted_permanently_but_m365_groups_are_soft_deleted(fresh):
    g = fresh()
    groups = g.export()["groups"]
    sec = next(x for x in groups if x["securityEnabled"] and not x["groupTypes"])
    m365 = next(x for x in groups if "Unified" in x["groupTypes"])
    g.http.delete(f"/v1.0/groups/{sec['id']}")
    g.http.delete(f"/v1.0/groups/{m365['id']}")
    deleted = [x["id"] for x in g.get("/v1.0/directory/deletedItems/microsoft.graph.group").json()["value"]]
    assert deleted == [m365["id"]]


def test_soft_deleted_items_are_purged_after_30_days_of_tenant_clock(fresh):
    g = fresh(roles=["Directory.ReadWrite.All", "User.ReadWrite.All"])
    uid = g.export()["users"][2]["id"]
    g.mutate("delete_user", id=uid)
    g.mutate("advance_clock", seconds=31 * 86400)
    assert uid not in [u["id"] for u in g.export()["deletedItems"].get("users", [])]


def test_permanent_delete_of_deleted_item(fresh):
    g = fresh()
    uid = g.export()["users"][3]["id"]
    g.http.delete(f"/v1.0/users/{uid}")
    assert g.http.delete(f"/v1.0/directory/deletedItems/{uid}").status_code == 204
    assert g.get(f"/v1.0/directory/deletedItems/{uid}").status_code == 404


def test_create_user_requires_password_profile_and_verified_domain(fresh):
    g = fresh()
    base = {"accountEnabled": True, "displayName": "Ada L", "mailNickname": "ada",
            "userPrincipalName": f"ada@{g.tenant['domain']}"}
    assert g.http.post("/v1.0/users", json=base).status_code == 400
    bad_domain = {**base, "userPrincipalName": "ada@not-ours.example", "passwordProfile": {"password": "Xx!12345678"}}
    assert g.http.post("/v1.0/users", json=bad_domain).json()["error"]["message"] == "Property userPrincipalName is invalid."
    r = g.http.post("/v1.0/users", json={**base, "passwordProfile": {"password": "Xx!12345678",
                                                                    "forceChangePasswordNextSignIn": True}})
    assert r.status_code == 201 and r.json()["userPrincipalName"] == base["userPrincipalName"]
    full = g.get(f"/v1.0/users/{r.json()['id']}?$select=passwordProfile,createdDateTime").json()
    assert full["passwordProfile"] is None and full["createdDateTime"]


def test_patch_returns_204_and_read_only_and_synced_properties_are_rejected(fresh):
    g = fresh()
    users = g.export()["users"]
    cloud = next(u for u in users if not u["onPremisesSyncEnabled"])
    synced = next(u for u in users if u["onPremisesSyncEnabled"])
    assert g.http.patch(f"/v1.0/users/{cloud['id']}", json={"jobTitle": "CTO"}).status_code == 204
    assert g.get(f"/v1.0/users/{cloud['id']}").json()["jobTitle"] == "CTO"
    ro = g.http.patch(f"/v1.0/users/{cloud['id']}", json={"createdDateTime": "2020-01-01T00:00:00Z"})
    assert ro.status_code == 400 and "read-only" in ro.json()["error"]["message"]
    sy = g.http.patch(f"/v1.0/users/{synced['id']}", json={"displayName": "Changed"})
    assert sy.status_code == 400 and sy.json()["error"]["message"] == (
        "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects "
        "currently undergoing migration.")
    assert g.http.patch(f"/v1.0/users/{synced['id']}", json={"usageLocation": "NO"}).status_code == 204


def test_member_refs_owner_refs_manager_and_bind_limit(fresh):
    g = fresh()
    ex = g.export()
    gid = next(x["id"] for x in ex["groups"] if not x["membershipRule"] and not x["onPremisesSyncEnabled"]
               and len(ex["group_members"].get(x["id"], [])) < len(ex["users"]))
    uid = next(u["id"] for u in ex["users"] if u["id"] not in ex["group_members"].get(gid, []))
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{uid}"}
    assert g.http.post(f"/v1.0/groups/{gid}/members/$ref", json=ref).status_code == 204
    assert g.http.post(f"/v1.0/groups/{gid}/members/$ref", json=ref).status_code == 400
    assert g.http.delete(f"/v1.0/groups/{gid}/members/{uid}/$ref").status_code == 204
    assert g.http.post(f"/v1.0/groups/{gid}/owners/$ref", json=ref).status_code == 204
    assert g.http.put(f"/v1.0/users/{ex['users'][9]['id']}/manager/$ref", json=ref).status_code == 204
    assert g.get(f"/v1.0/users/{ex['users'][9]['id']}/manager").json()["id"] == uid
    binds = [f"https://graph.microsoft.com/v1.0/directoryObjects/{u['id']}" for u in ex["users"][:21]]
    assert g.http.patch(f"/v1.0/groups/{gid}", json={"members@odata.bind": binds}).status_code == 400
    assert g.http.patch(f"/v1.0/groups/{gid}", json={"members@odata.bind": binds[:20]}).status_code == 204


def test_conditional_access_policy_create_is_validated_and_soft_deleted(fresh):
    g = fresh()
    example = fixture("list-conditionalaccess-policies.json")["value"][0]
    body = {k: example[k] for k in ("displayName", "state", "conditions", "grantControls")}
    assert g.http.post("/v1.0/identity/conditionalAccess/policies", json={**body, "state": "on"}).status_code == 400
    no_grant = {k: v for k, v in body.items() if k != "grantControls"}
    assert g.http.post("/v1.0/identity/conditionalAccess/policies", json=no_grant).status_code == 400
    created = g.http.post("/v1.0/identity/conditionalAccess/policies", json=body)
    assert created.status_code == 201
    pid = created.json()["id"]
    assert g.http.delete(f"/v1.0/identity/conditionalAccess/policies/{pid}").status_code == 204
    deleted = g.get("/v1.0/identity/conditionalAccess/deletedItems/policies").json()["value"]
    assert [p["id"] for p in deleted] == [pid]
    assert g.http.post(f"/v1.0/identity/conditionalAccess/deletedItems/policies/{pid}/restore").status_code == 200
    assert g.get(f"/v1.0/identity/conditionalAccess/policies/{pid}").status_code == 200


def test_batch_runs_sub_requests_with_dependson_424_and_limits(fresh):
    g = fresh()
    reqs = [{"id": "1", "method": "GET", "url": "/users/does-not-exist"},
            {"id": "2", "method": "GET", "url": "/users?$top=1", "dependsOn": ["1"]},
            {"id": "3", "method": "GET", "url": "/users/$count", "headers": {"ConsistencyLevel": "eventual"},
             "dependsOn": ["1"]}]
    r = g.http.post("/v1.0/$batch", json={"requests": reqs})
    assert r.status_code == 200
    by_id = {x["id"]: x for x in r.json()["responses"]}
    assert by_id["1"]["status"] == 404 and by_id["2"]["status"] == 424 and by_id["3"]["status"] == 424
    parallel = [{k: v for k, v in x.items() if k != "dependsOn"} for x in reqs]
    by_id = {x["id"]: x for x in g.http.post("/v1.0/$batch", json={"requests": parallel}).json()["responses"]}
    assert [by_id[i]["status"] for i in "123"] == [404, 200, 200]
    mixed = [*reqs[:2], parallel[2]]  # some requests sequenced, one not: Graph refuses the batch
    r = g.http.post("/v1.0/$batch", json={"requests": mixed})
    assert r.status_code == 400 and "fully sequential or fully parallel" in r.json()["error"]["message"]
    forward = [{**reqs[0], "dependsOn": None}, {**reqs[1], "dependsOn": ["3"]}, reqs[2]]
    assert g.http.post("/v1.0/$batch", json={"requests": forward}).status_code == 400
    too_many = [{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)]
    assert g.http.post("/v1.0/$batch", json={"requests": too_many}).status_code == 400
    dup = [{"id": "1", "method": "GET", "url": "/users"}] * 2
    assert g.http.post("/v1.0/$batch", json={"requests": dup}).status_code == 400
    absolute = [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}]
    assert g.http.post("/v1.0/$batch", json={"requests": absolute}).status_code == 400


def test_writes_and_mutations_leave_audit_records_with_the_real_shape(fresh):
    g = fresh()
    ex = g.export()
    uid = next(u["id"] for u in ex["users"] if not u["onPremisesSyncEnabled"])
    assert g.http.patch(f"/v1.0/users/{uid}", json={"department": "Finance"}).status_code == 204
    out = g.mutate("disable_ca_policy", id=ex["conditionalAccessPolicies"][0]["id"])
    audits = g.all_pages("/v1.0/auditLogs/directoryAudits")
    example = fixture("list-directoryaudits.json")["value"][0]
    for a in audits:
        assert set(example) <= set(a) and check_object("directoryAudit", a) == []
    upd = next(a for a in audits if a["activityDisplayName"] == "Update user")
    assert upd["initiatedBy"]["app"]["appId"] == g.app["client_id"] and upd["loggedByService"] == "Core Directory"
    prop = upd["targetResources"][0]["modifiedProperties"][0]
    assert prop["displayName"] == "department" and orjson.loads(prop["newValue"]) == ["Finance"]
    ca = next(a for a in audits if a["id"] == out["audit_ids"][0])
    assert ca["activityDisplayName"] == "Update conditional access policy" and ca["initiatedBy"]["user"]["id"]
    filtered = g.get(f"/v1.0/auditLogs/directoryAudits?$filter=targetResources/any(t: t/id eq '{uid}')").json()
    assert {a["activityDisplayName"] for a in filtered["value"]} == {"Update user"}


def test_audit_records_arrive_only_after_the_configured_delay(fresh, emu):
    g = fresh()
    emu.control.configure(g.tid, audit_delay_seconds=300)
    out = g.mutate("update_user", id=g.export()["users"][0]["id"], properties={"jobTitle": "Late"})
    ids = lambda: {a["id"] for a in g.all_pages("/v1.0/auditLogs/directoryAudits")}  # noqa: E731
    assert out["audit_ids"][0] not in ids()
    g.mutate("advance_clock", seconds=301)
    g2 = type(g)(emu, g.tenant, ["AuditLog.Read.All", "Directory.Read.All"])
    assert out["audit_ids"][0] in {a["id"] for a in g2.all_pages("/v1.0/auditLogs/directoryAudits")}


def test_sign_ins_need_premium_and_are_newest_first_with_beta_event_types(fresh, emu):
    free = fresh(licence="free", roles=["AuditLog.Read.All", "Directory.Read.All"])
    r = free.get("/v1.0/auditLogs/signIns")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    g = fresh(roles=["AuditLog.Read.All", "Directory.Read.All"])
    emu.control.configure(g.tid, signins_per_minute=3)
    body = g.get("/v1.0/auditLogs/signIns?$top=50").json()
    times = [s["createdDateTime"] for s in body["value"]]
    assert times == sorted(times, reverse=True) and "@odata.nextLink" in body
    assert all(s["isInteractive"] for s in body["value"]) and check_object("signIn", body["value"][0]) == []
    sp = g.get("/beta/auditLogs/signIns?$top=20&$filter=signInEventTypes/any(t: t eq 'servicePrincipal')").json()
    assert sp["value"] and all(s["signInEventTypes"] == ["servicePrincipal"] for s in sp["value"])
    window = g.get(f"/v1.0/auditLogs/signIns?$filter=createdDateTime ge {times[-1]} and createdDateTime le {times[0]}")
    assert {s["id"] for s in body["value"]} <= {s["id"] for s in window.json()["value"]}
    again = g.get("/v1.0/auditLogs/signIns?$top=50").json()
    assert [s["id"] for s in again["value"]][:10] == [s["id"] for s in body["value"]][:10]  # deterministic
    assert g.get("/v1.0/auditLogs/signIns?$top=1001").status_code == 400
