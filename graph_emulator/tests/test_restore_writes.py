"""The writes a restore (and an attacker) makes, at their documented paths, with their status codes, error
bodies and directory audit records: credentials, role assignments, Conditional Access references, user and
group creation rules, administrative units, app role assignments, $batch and the write budget."""

from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
import time

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from graph_emulator import jwt
from graph_emulator.generator.roles import GLOBAL_ADMIN_TEMPLATE
from graph_emulator.tests.conftest import ALL_WRITE, acquire, fixture

PASSWORD = "Restore-2026!x"
GRAPH_REF = "https://graph.microsoft.com/v1.0/directoryObjects/"


def _audits(g, activity: str) -> list[dict]:
    flt = f"activityDisplayName eq '{activity}'"
    return g.all_pages(f"/v1.0/auditLogs/directoryAudits?$filter={flt}")


def _props(target: dict) -> dict:
    return {p["displayName"]: (p["oldValue"], p["newValue"]) for p in target["modifiedProperties"]}


def _cloud_user(ex: dict, skip: set = frozenset()) -> dict:
    return next(u for u in ex["users"] if not u["onPremisesSyncEnabled"] and u["id"] not in skip
                and u["userType"] == "Member")


def _plain_group(ex: dict) -> dict:
    return next(x for x in ex["groups"] if not x["membershipRule"] and not x["onPremisesSyncEnabled"]
                and not x["groupTypes"] and x["securityEnabled"])


def test_add_password_issues_a_working_secret_and_remove_password_revokes_it(fresh, emu):
    g = fresh()
    victim = g.app["app_object_id"]
    r = g.http.post(f"/v1.0/applications/{victim}/addPassword", json={"passwordCredential": {"displayName": "x"}})
    assert r.status_code == 200 and r.json()["secretText"] and r.json()["hint"] == r.json()["secretText"][:3]
    key_id, secret = r.json()["keyId"], r.json()["secretText"]
    listed = g.get(f"/v1.0/applications/{victim}?$select=passwordCredentials").json()["passwordCredentials"]
    assert key_id in [c["keyId"] for c in listed] and all(c["secretText"] is None for c in listed)
    assert "access_token" in acquire(emu.url, emu.ca_path, g.tid, g.app["client_id"], secret)
    rec = _audits(g, "Update application – Certificates and secrets management ")[0]
    old, new = _props(rec["targetResources"][0])["KeyDescription"]
    assert key_id in new and key_id not in (old or "")
    bad = g.http.patch(f"/v1.0/applications/{victim}", json={"passwordCredentials": []})
    assert bad.status_code == 400 and "read-only" in bad.json()["error"]["message"]
    assert g.http.post(f"/v1.0/applications/{victim}/removePassword", json={"keyId": key_id}).status_code == 204
    assert g.http.post(f"/v1.0/applications/{victim}/removePassword", json={"keyId": key_id}).status_code == 400
    assert "access_token" not in acquire(emu.url, emu.ca_path, g.tid, g.app["client_id"], secret)


def _certificate(name: str):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, cert


def _proof(key, cert, app_object_id: str) -> str:
    x5t = jwt.thumbprints(cert)[0]
    now = int(time.time())
    return jwt.sign_rs256(key, {"alg": "RS256", "typ": "JWT", "x5t": x5t},
                          {"aud": "00000002-0000-0000-c000-000000000000", "iss": app_object_id, "nbf": now,
                           "exp": now + 600})


def test_add_key_needs_a_proof_signed_by_a_current_certificate(fresh, emu):
    g = fresh()
    key, cert = _certificate("current")
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    app = emu.control.register_app(g.tid, ["User.Read.All"], secret=False, certificate_pem=pem)
    new_key, new_cert = _certificate("added")
    body = {"keyCredential": {"type": "AsymmetricX509Cert", "usage": "Verify",
                              "key": base64.b64encode(new_cert.public_bytes(serialization.Encoding.DER)).decode()}}
    path = f"/v1.0/applications/{app['app_object_id']}"
    forged = g.http.post(f"{path}/addKey", json={**body, "proof": _proof(new_key, new_cert, app["app_object_id"])})
    assert forged.status_code == 400
    r = g.http.post(f"{path}/addKey", json={**body, "proof": _proof(key, cert, app["app_object_id"])})
    assert r.status_code == 200 and r.json()["type"] == "AsymmetricX509Cert"
    new_pem = {"private_key": new_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()).decode(),
               "thumbprint": new_cert.fingerprint(hashes.SHA1()).hex()}  # noqa: S303 - x5t thumbprint
    assert "access_token" in acquire(emu.url, emu.ca_path, g.tid, app["client_id"], new_pem)
    gone = g.http.post(f"{path}/removeKey", json={"keyId": r.json()["keyId"],
                                                  "proof": _proof(key, cert, app["app_object_id"])})
    assert gone.status_code == 204


def test_role_assignment_and_directory_role_member_are_one_assignment(fresh):
    g = fresh(roles=[*ALL_WRITE, "RoleManagement.ReadWrite.Directory"])
    ex = g.export()
    uid = _cloud_user(ex, set(ex["directoryRoleMembers"].get(next(
        r["id"] for r in ex["directoryRoles"] if r["roleTemplateId"] == GLOBAL_ADMIN_TEMPLATE), [])))["id"]
    body = {"principalId": uid, "roleDefinitionId": GLOBAL_ADMIN_TEMPLATE, "directoryScopeId": "/"}
    r = g.http.post("/v1.0/roleManagement/directory/roleAssignments", json=body)
    assert r.status_code == 201 and r.json()["principalId"] == uid
    assert g.http.post("/v1.0/roleManagement/directory/roleAssignments", json=body).status_code == 409
    role = next(x for x in g.get("/v1.0/directoryRoles").json()["value"] if x["roleTemplateId"] == GLOBAL_ADMIN_TEMPLATE)
    assert uid in [m["id"] for m in g.get(f"/v1.0/directoryRoles/{role['id']}/members").json()["value"]]
    rec = _audits(g, "Add member to role")[0]
    member, container = rec["targetResources"]
    assert member["id"] == uid and container["type"] == "Role"
    assert orjson.loads(_props(member)["Role.TemplateId"][1]) == GLOBAL_ADMIN_TEMPLATE
    assert g.http.delete(f"/v1.0/roleManagement/directory/roleAssignments/{r.json()['id']}").status_code == 204
    assert uid not in [m["id"] for m in g.get(f"/v1.0/directoryRoles/{role['id']}/members").json()["value"]]
    ref = {"@odata.id": GRAPH_REF + uid}
    assert g.http.post(f"/v1.0/directoryRoles/{role['id']}/members/$ref", json=ref).status_code == 204
    flt = f"principalId eq '{uid}'"
    listed = g.get(f"/v1.0/roleManagement/directory/roleAssignments?$filter={flt}").json()["value"]
    assert [a["roleDefinitionId"] for a in listed].count(GLOBAL_ADMIN_TEMPLATE) == 1
    missing = {**body, "principalId": "00000000-0000-0000-0000-00000000beef"}
    assert g.http.post("/v1.0/roleManagement/directory/roleAssignments", json=missing).status_code == 404


def test_a_hard_deleted_role_assignable_group_loses_its_role_assignments(fresh):
    g = fresh(roles=[*ALL_WRITE, "RoleManagement.ReadWrite.Directory"])
    group = g.http.post("/v1.0/groups", json={"displayName": "Tier 0", "mailEnabled": False, "mailNickname": "t0",
                                              "securityEnabled": True, "isAssignableToRole": True}).json()
    body = {"principalId": group["id"], "roleDefinitionId": GLOBAL_ADMIN_TEMPLATE, "directoryScopeId": "/"}
    assert g.http.post("/v1.0/roleManagement/directory/roleAssignments", json=body).status_code == 201
    assert g.http.delete(f"/v1.0/groups/{group['id']}").status_code == 204
    flt = f"principalId eq '{group['id']}'"
    assert g.get(f"/v1.0/roleManagement/directory/roleAssignments?$filter={flt}").json()["value"] == []


def test_conditional_access_refuses_unknown_references_but_keeps_stale_ones(fresh):
    g = fresh()
    ex = g.export()
    example = fixture("list-conditionalaccess-policies.json")["value"][0]
    body = {k: example[k] for k in ("displayName", "state", "conditions", "grantControls")}
    group = _plain_group(ex)
    body["conditions"] = {**body["conditions"], "users": {"includeGroups": [group["id"]]},
                          "locations": None}
    ghost = "00000000-0000-0000-0000-0000000000aa"
    bad = {**body, "conditions": {**body["conditions"], "users": {"includeGroups": [group["id"], ghost]}}}
    r = g.http.post("/v1.0/identity/conditionalAccess/policies", json=bad)
    assert r.status_code == 400 and r.json()["error"]["message"] == f"1054: Invalid group value: {ghost}."
    no_location = {**body, "conditions": {**body["conditions"], "locations": {"includeLocations": [ghost]}}}
    assert g.http.post("/v1.0/identity/conditionalAccess/policies", json=no_location).status_code == 400
    no_ranges = {"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "Office", "isTrusted": True}
    assert g.http.post("/v1.0/identity/conditionalAccess/namedLocations", json=no_ranges).status_code == 400
    ranges = [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}]
    location = g.http.post("/v1.0/identity/conditionalAccess/namedLocations", json={**no_ranges, "ipRanges": ranges})
    assert location.status_code == 201
    body["conditions"]["locations"] = {"includeLocations": [location.json()["id"]], "excludeLocations": ["AllTrusted"]}
    pid = g.http.post("/v1.0/identity/conditionalAccess/policies", json=body).json()["id"]
    assert g.http.delete(f"/v1.0/groups/{group['id']}").status_code == 204  # security group: gone at once
    stale = g.get(f"/v1.0/identity/conditionalAccess/policies/{pid}").json()
    assert stale["conditions"]["users"]["includeGroups"] == [group["id"]]
    path = f"/v1.0/identity/conditionalAccess/policies/{pid}"
    assert g.http.patch(path, json={"state": "disabled"}).status_code == 204
    assert g.http.patch(path, json={"conditions": stale["conditions"]}).status_code == 400
    rec = _audits(g, "Update conditional access policy")[0]
    old, new = _props(rec["targetResources"][0])["ConditionalAccessPolicy"]
    assert orjson.loads(old)["state"] == body["state"] and orjson.loads(new)["state"] == "disabled"


def test_create_user_rules_and_audit_of_updates(fresh):
    g = fresh()
    base = {"accountEnabled": True, "displayName": "Ada L", "mailNickname": "ada",
            "userPrincipalName": f"ada@{g.tenant['domain']}"}
    weak = g.http.post("/v1.0/users", json={**base, "passwordProfile": {"password": "password"}})
    assert weak.status_code == 400 and "complexity" in weak.json()["error"]["message"]
    r = g.http.post("/v1.0/users", json={**base, "passwordProfile": {"password": PASSWORD,
                                                                    "forceChangePasswordNextSignIn": True}})
    assert r.status_code == 201
    uid = r.json()["id"]
    again = g.http.post("/v1.0/users", json={**base, "passwordProfile": {"password": PASSWORD}})
    assert again.status_code == 400 and "already exists" in again.json()["error"]["message"]
    weak_reset = g.http.patch(f"/v1.0/users/{uid}", json={"passwordProfile": {"password": "abc"}})
    assert weak_reset.status_code == 400 and "complexity" in weak_reset.json()["error"]["message"]
    assert g.http.patch(f"/v1.0/users/{uid}", json={"jobTitle": "CFO", "department": "Finance"}).status_code == 204
    upd = _audits(g, "Update user")[0]
    props = _props(upd["targetResources"][0])
    assert props["jobTitle"] == (None, '["CFO"]')
    assert orjson.loads(props["Included Updated Properties"][1]) == "jobTitle, department"
    assert _audits(g, "Add user")[0]["targetResources"][0]["id"] == uid
    assert g.http.delete(f"/v1.0/users/{uid}").status_code == 204
    taker = g.http.post("/v1.0/users", json={**base, "passwordProfile": {"password": PASSWORD}})
    assert taker.status_code == 201  # the UPN of a user in the recycle bin is free
    taken = g.http.post(f"/v1.0/directory/deletedItems/{uid}/restore")
    assert taken.status_code == 400 and "userPrincipalName" in taken.json()["error"]["message"]
    assert g.http.post(f"/v1.0/directory/deletedItems/{uid}/restore",
                       json={"newUserPrincipalName": f"ada2@{g.tenant['domain']}"}).status_code == 200
    assert g.get(f"/v1.0/users/{uid}").json()["userPrincipalName"] == f"ada2@{g.tenant['domain']}"
    assert g.http.delete(f"/v1.0/users/{taker.json()['id']}").status_code == 204
    assert g.http.delete(f"/v1.0/users/{uid}").status_code == 204
    assert g.http.post(f"/v1.0/directory/deletedItems/{uid}/restore").status_code == 200
    assert g.http.delete(f"/v1.0/users/{uid}").status_code == 204
    assert g.http.delete(f"/v1.0/directory/deletedItems/{uid}").status_code == 204
    assert _audits(g, "Hard Delete user")[0]["targetResources"][0]["id"] == uid
    assert g.http.post(f"/v1.0/directory/deletedItems/{uid}/restore").status_code == 404


def test_groups_created_with_members_and_owners_and_membership_audit(fresh):
    g = fresh()
    ex = g.export()
    users = [u["id"] for u in ex["users"][:21]]
    sec = {"displayName": "Restored", "mailEnabled": False, "mailNickname": "restored", "securityEnabled": True}
    dl = g.http.post("/v1.0/groups", json={**sec, "mailEnabled": True})
    assert dl.status_code == 400 and "mail-enabled security" in dl.json()["error"]["message"]
    too_many = g.http.post("/v1.0/groups", json={**sec, "members@odata.bind": [GRAPH_REF + u for u in users]})
    assert too_many.status_code == 400
    ghost = g.http.post("/v1.0/groups", json={**sec, "members@odata.bind": [GRAPH_REF + "0" * 8 + "-0000-0000-0000-"
                                                                         + "0" * 12]})
    assert ghost.status_code == 404 and not [x for x in g.export()["groups"] if x["displayName"] == "Restored"]
    r = g.http.post("/v1.0/groups", json={**sec, "members@odata.bind": [GRAPH_REF + u for u in users[:20]],
                                         "owners@odata.bind": [GRAPH_REF + users[0]]})
    assert r.status_code == 201
    gid = r.json()["id"]
    assert {m["id"] for m in g.all_pages(f"/v1.0/groups/{gid}/members")} == set(users[:20])
    assert [o["id"] for o in g.get(f"/v1.0/groups/{gid}/owners").json()["value"]] == [users[0]]
    assert g.http.delete(f"/v1.0/groups/{gid}/members/{users[3]}/$ref").status_code == 204
    rec = _audits(g, "Remove member from group")[0]
    member, container = rec["targetResources"]
    assert (member["id"], container["id"], container["type"]) == (users[3], gid, "Group")
    assert _props(member)["Group.ObjectID"] == (orjson.dumps(gid).decode(), None)


def test_administrative_units_create_members_delete_and_restore(fresh):
    g = fresh()
    uid = g.export()["users"][4]["id"]
    r = g.http.post("/v1.0/directory/administrativeUnits", json={"displayName": "Oslo"})
    assert r.status_code == 201
    au = r.json()["id"]
    ref = {"@odata.id": GRAPH_REF + uid}
    assert g.http.post(f"/v1.0/directory/administrativeUnits/{au}/members/$ref", json=ref).status_code == 204
    assert g.http.patch(f"/v1.0/directory/administrativeUnits/{au}", json={"description": "x"}).status_code == 204
    assert g.http.delete(f"/v1.0/directory/administrativeUnits/{au}").status_code == 204
    deleted = g.get("/v1.0/directory/deletedItems/microsoft.graph.administrativeUnit").json()["value"]
    assert [d["id"] for d in deleted] == [au]
    assert g.http.post(f"/v1.0/directory/deletedItems/{au}/restore").status_code == 200
    assert [m["id"] for m in g.get(f"/v1.0/directory/administrativeUnits/{au}/members").json()["value"]] == [uid]
    assert _audits(g, "Add member to administrative unit")[0]["targetResources"][0]["id"] == uid


def test_app_role_assignments_for_users_check_the_path_and_duplicates(fresh):
    g = fresh()
    ex = g.export()
    uid = ex["users"][6]["id"]
    sp = next(s for s in ex["servicePrincipals"] if s.get("appRoles"))
    body = {"principalId": uid, "resourceId": sp["id"], "appRoleId": sp["appRoles"][0]["id"]}
    other = ex["users"][7]["id"]
    assert g.http.post(f"/v1.0/users/{other}/appRoleAssignments", json=body).status_code == 400
    r = g.http.post(f"/v1.0/users/{uid}/appRoleAssignments", json=body)
    assert r.status_code == 201
    assert g.http.post(f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo", json=body).status_code == 400
    assert g.http.delete(f"/v1.0/users/{uid}/appRoleAssignments/{r.json()['id']}").status_code == 204
    assert _audits(g, "Add app role assignment grant to user")
    assert _audits(g, "Remove app role assignment from user")[0]["targetResources"][1]["id"] == uid


def test_manager_set_and_removed_are_audited(fresh):
    g = fresh()
    users = [u["id"] for u in g.export()["users"][10:12]]
    path = f"/v1.0/users/{users[0]}/manager/$ref"
    assert g.http.put(path, json={"@odata.id": GRAPH_REF + users[1]}).status_code == 204
    assert g.http.delete(path).status_code == 204
    assert g.http.delete(path).status_code == 404
    assert [t["id"] for t in _audits(g, "Set user manager")[0]["targetResources"]] == users
    assert [t["id"] for t in _audits(g, "Remove user manager")[0]["targetResources"]] == users


def test_batched_writes_depend_on_each_other_and_are_throttled_one_by_one(fresh, emu):
    g = fresh()
    ex = g.export()
    gid = _plain_group(ex)["id"]
    uid = next(u["id"] for u in ex["users"] if u["id"] not in ex["group_members"].get(gid, []))
    ct = {"Content-Type": "application/json"}
    reqs = [{"id": "1", "method": "POST", "url": f"/groups/{gid}/members/$ref", "headers": ct,
             "body": {"@odata.id": GRAPH_REF + uid}},
            {"id": "2", "method": "POST", "url": f"/groups/{gid}/members/$ref", "headers": ct, "dependsOn": ["1"],
             "body": {"@odata.id": GRAPH_REF + uid}},
            {"id": "3", "method": "PATCH", "url": f"/groups/{gid}", "headers": ct, "dependsOn": ["2"],
             "body": {"description": "never"}}]
    out = {x["id"]: x["status"] for x in g.http.post("/v1.0/$batch", json={"requests": reqs}).json()["responses"]}
    assert out == {"1": 204, "2": 400, "3": 424}
    emu.control.configure(g.tid, throttling={"enabled": True, "write_per_150s": 2})
    try:
        writes = [{"id": str(i), "method": "PATCH", "url": f"/groups/{gid}", "headers": ct,
                   "body": {"description": f"d{i}"}} for i in range(4)]
        resp = g.http.post("/v1.0/$batch", json={"requests": writes})
        by_id = {x["id"]: x for x in resp.json()["responses"]}
        assert resp.status_code == 200 and [by_id[str(i)]["status"] for i in range(4)] == [204, 204, 429, 429]
        assert float(by_id["2"]["headers"]["Retry-After"]) > 0
        assert by_id["2"]["headers"]["x-ms-throttle-information"] == "WriteLimitExceeded"
    finally:
        emu.control.configure(g.tid, throttling={"enabled": False, "write_per_150s": 3000})


def test_the_tenant_write_quota_is_shared_by_every_app(fresh, emu):
    g = fresh()
    gid = _plain_group(g.export())["id"]
    other = type(g)(emu, g.tenant, ALL_WRITE)
    emu.control.configure(g.tid, throttling={"enabled": True, "tenant_write_per_300s": 2})
    try:
        assert g.http.patch(f"/v1.0/groups/{gid}", json={"description": "a"}).status_code == 204
        assert other.http.patch(f"/v1.0/groups/{gid}", json={"description": "b"}).status_code == 204
        r = g.http.patch(f"/v1.0/groups/{gid}", json={"description": "c"})
        assert r.status_code == 429 and r.headers["x-ms-throttle-scope"].startswith("Tenant/Write/")
        assert g.get(f"/v1.0/groups/{gid}").status_code == 200  # reads are not writes
    finally:
        emu.control.configure(g.tid, throttling={"enabled": False, "tenant_write_per_300s": 18000})


def test_delegated_permission_grants_and_custom_roles_can_be_written_back(fresh):
    g = fresh(roles=[*ALL_WRITE, "RoleManagement.ReadWrite.Directory"])
    ex = g.export()
    grant = ex["oauth2PermissionGrants"][0]
    body = {k: grant[k] for k in ("clientId", "consentType", "principalId", "resourceId", "scope")}
    assert g.http.post("/v1.0/oauth2PermissionGrants", json=body).status_code == 409
    assert g.http.delete(f"/v1.0/oauth2PermissionGrants/{grant['id']}").status_code == 204
    wrong = {**body, "consentType": "Principal", "principalId": None}
    assert g.http.post("/v1.0/oauth2PermissionGrants", json=wrong).status_code == 400
    again = g.http.post("/v1.0/oauth2PermissionGrants", json=body)
    assert again.status_code == 201 and again.json()["id"] != grant["id"]
    path = f"/v1.0/oauth2PermissionGrants/{again.json()['id']}"
    assert g.http.patch(path, json={"scope": "User.Read"}).status_code == 204
    assert g.http.patch(path, json={"clientId": body["resourceId"]}).status_code == 400
    assert {"Remove delegated permission grant", "Add delegated permission grant", "Update delegated permission grant"} <= {
        a["activityDisplayName"] for a in g.all_pages("/v1.0/auditLogs/directoryAudits")}
    custom = next(d for d in ex["roleDefinitions"] if not d["isBuiltIn"])
    role = {k: custom[k] for k in ("description", "isEnabled", "rolePermissions")}
    assert g.http.post("/v1.0/roleManagement/directory/roleDefinitions",
                       json={**role, "displayName": custom["displayName"]}).status_code == 400  # name taken
    made = g.http.post("/v1.0/roleManagement/directory/roleDefinitions", json={**role, "displayName": "Restored role"})
    assert made.status_code == 201 and made.json()["isBuiltIn"] is False
    rid = made.json()["id"]
    builtin = f"/v1.0/roleManagement/directory/roleDefinitions/{GLOBAL_ADMIN_TEMPLATE}"
    assert g.http.patch(builtin, json={"description": "x"}).status_code == 400
    uid = ex["users"][3]["id"]
    assigned = g.http.post("/v1.0/roleManagement/directory/roleAssignments",
                           json={"principalId": uid, "roleDefinitionId": rid, "directoryScopeId": "/"})
    assert assigned.status_code == 201
    path = f"/v1.0/roleManagement/directory/roleDefinitions/{rid}"
    assert g.http.delete(path).status_code == 400
    assert g.http.delete(f"/v1.0/roleManagement/directory/roleAssignments/{assigned.json()['id']}").status_code == 204
    assert g.http.delete(path).status_code == 204


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_microsofts_sdk_writes_users_members_secrets_named_locations_and_policies(fresh, emu):
    sdk = pytest.importorskip("msgraph")
    import asyncio

    import httpx
    from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator
    from kiota_abstractions.authentication import BaseBearerTokenAuthenticationProvider as Auth
    from msgraph.generated.applications.item.add_password.add_password_post_request_body import (
        AddPasswordPostRequestBody,
    )
    from msgraph.generated.models.conditional_access_applications import ConditionalAccessApplications
    from msgraph.generated.models.conditional_access_client_app import ConditionalAccessClientApp
    from msgraph.generated.models.conditional_access_condition_set import ConditionalAccessConditionSet
    from msgraph.generated.models.conditional_access_grant_control import ConditionalAccessGrantControl
    from msgraph.generated.models.conditional_access_grant_controls import ConditionalAccessGrantControls
    from msgraph.generated.models.conditional_access_locations import ConditionalAccessLocations
    from msgraph.generated.models.conditional_access_policy import ConditionalAccessPolicy
    from msgraph.generated.models.conditional_access_policy_state import ConditionalAccessPolicyState
    from msgraph.generated.models.conditional_access_users import ConditionalAccessUsers
    from msgraph.generated.models.i_pv4_cidr_range import IPv4CidrRange
    from msgraph.generated.models.ip_named_location import IpNamedLocation
    from msgraph.generated.models.password_credential import PasswordCredential
    from msgraph.generated.models.password_profile import PasswordProfile
    from msgraph.generated.models.reference_create import ReferenceCreate
    from msgraph.generated.models.user import User
    from msgraph_core import GraphClientFactory

    from graph_emulator.control import ssl_context

    g = fresh()
    gid = _plain_group(g.export())["id"]

    class Tokens(AccessTokenProvider):
        async def get_authorization_token(self, uri, additional_authentication_context=None):
            return g.token

        def get_allowed_hosts_validator(self):
            return AllowedHostsValidator([httpx.URL(emu.url).host])

    async def run():
        async with httpx.AsyncClient(verify=ssl_context(emu.ca_path), trust_env=False) as raw:
            adapter = sdk.GraphRequestAdapter(Auth(Tokens()), client=GraphClientFactory.create_with_default_middleware(
                client=raw))
            adapter.base_url = f"{emu.url}/v1.0"
            client = sdk.GraphServiceClient(request_adapter=adapter)
            user = await client.users.post(User(
                account_enabled=True, display_name="Sdk User", mail_nickname="sdk",
                user_principal_name=f"sdk@{g.tenant['domain']}",
                password_profile=PasswordProfile(password=PASSWORD, force_change_password_next_sign_in=True)))
            await client.groups.by_group_id(gid).members.ref.post(
                ReferenceCreate(odata_id=GRAPH_REF + user.id))
            secret = await client.applications.by_application_id(app_id).add_password.post(
                AddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="sdk")))
            location = await client.identity.conditional_access.named_locations.post(IpNamedLocation(
                display_name="Head office", is_trusted=True,
                ip_ranges=[IPv4CidrRange(cidr_address="198.51.100.0/24")]))
            policy = await client.identity.conditional_access.policies.post(ConditionalAccessPolicy(
                display_name="Sdk policy", state=ConditionalAccessPolicyState.EnabledForReportingButNotEnforced,
                conditions=ConditionalAccessConditionSet(
                    client_app_types=[ConditionalAccessClientApp.All],
                    applications=ConditionalAccessApplications(include_applications=["All"]),
                    users=ConditionalAccessUsers(include_groups=[gid], include_users=[user.id]),
                    locations=ConditionalAccessLocations(include_locations=[location.id])),
                grant_controls=ConditionalAccessGrantControls(
                    operator="OR", built_in_controls=[ConditionalAccessGrantControl.Mfa])))
            return user.id, secret.secret_text, policy
    app_id = g.app["app_object_id"]
    # Its own thread and event loop: Playwright's sync API (browser tests in the same session) keeps a loop
    # running in the main thread, where asyncio.run() refuses to start.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        uid, secret, policy = pool.submit(asyncio.run, run()).result()
    assert uid in g.export()["group_members"][gid] and secret
    assert policy.conditions.users.include_groups == [gid] and policy.grant_controls.custom_authentication_factors == []
