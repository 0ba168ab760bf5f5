"""The planner on in-memory states (no Graph, no repository): what it writes, in which order, and why not."""

from entrabackup import objecttypes
from restore import plan as planner
from restore.plan import Options, Planner, Selection, State, remap

U1, U2, U3 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222", \
    "33333333-3333-3333-3333-333333333333"
G1, G2 = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa", "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
P1 = "cccccccc-cccc-cccc-cccc-cccccccccccc"


def _user(uid, **extra):
    return {"id": uid, "displayName": f"User {uid[:2]}", "userPrincipalName": f"{uid[:4]}@contoso.com",
            "mailNickname": uid[:4], "accountEnabled": True, "createdDateTime": "2024-01-01T00:00:00Z", **extra}


def _group(gid, **extra):
    return {"id": gid, "displayName": f"Group {gid[:2]}", "mailNickname": gid[:4], "mailEnabled": False,
            "securityEnabled": True, "groupTypes": [], **extra}


def _policy(**extra):
    return {"id": P1, "displayName": "Require MFA", "state": "enabled",
            "conditions": {"users": {"includeGroups": [G2]}, "applications": {"includeApplications": ["All"]}},
            "grantControls": {"builtInControls": ["mfa"], "operator": "OR"}, **extra}


def _then():
    return State({"user": {U1: _user(U1, jobTitle="Engineer"), U2: _user(U2), U3: _user(U3)},
                  "group": {G1: _group(G1), G2: _group(G2)}, "conditionalAccessPolicy": {P1: _policy()}},
                 {"group_member": {(G1, U1), (G1, G2), (G2, U2)}, "manager": {(U1, U2)}})


def _plan(then, now, **selection):
    return Planner(then, now, Selection(**selection), Options(relations=planner.OVERWRITE)).build()


def test_restore_plan_restores_from_the_recycle_bin_and_recreates_what_is_gone_with_references_remapped():
    then = _then()
    now = State({"user": {U1: _user(U1, jobTitle="Owned"), U3: _user(U3)}, "group": {G1: _group(G1)},
                 "conditionalAccessPolicy": {P1: _policy(state="disabled")}},
                {"group_member": {(G1, U1)}}, {"user": {U2}})
    plan = _plan(then, now, everything=True)
    by = {(s["op"], s["object_id"]): s for s in plan["steps"]}
    assert by[("restore", U2)]["url"] == f"/directory/deletedItems/{U2}/restore"
    assert by[("update", U1)]["body"] == {"jobTitle": "Engineer"}
    assert by[("update", U1)]["before"] == {"jobTitle": "Owned"}
    create = by[("create", G2)]
    assert create["url"] == "/groups" and "id" not in create["body"]
    policy = by[("update", P1)]
    assert policy["body"]["state"] == "enabled" and "conditions" in policy["body"]  # names the re-created group
    assert policy["wave"] > create["wave"] and G2 in policy["refs"]
    link = next(s for s in plan["steps"] if s["op"] == "link" and s["object_id"] == G1)
    assert link["add"] == [G2] and link["wave"] > create["wave"]
    assert remap(policy["body"], {G2: "new"})["conditions"]["users"]["includeGroups"] == ["new"]


def test_restore_plan_skips_read_only_and_directory_synced_attributes_with_their_reason():
    then = State({"user": {U1: _user(U1, onPremisesSyncEnabled=True, jobTitle="A", usageLocation="NL",
                                     createdDateTime="2020-01-01T00:00:00Z")}}, {})
    now = State({"user": {U1: _user(U1, onPremisesSyncEnabled=True, jobTitle="B", usageLocation="DE")}}, {})
    plan = _plan(then, now, ids=(U1,))
    assert [s["body"] for s in plan["steps"]] == [{"usageLocation": "NL"}]
    reasons = {s["attribute"]: s["reason"] for s in plan["skipped"]}
    assert reasons["jobTitle"] == objecttypes.SYNCED and reasons["createdDateTime"] == objecttypes.READ_ONLY


def test_restore_plan_soft_deletes_objects_created_after_the_restore_point_but_never_a_security_group():
    then = State({"user": {}, "group": {}}, {})
    now = State({"user": {U1: _user(U1)}, "group": {G1: _group(G1), G2: _group(G2, groupTypes=["Unified"])}}, {})
    plan = _plan(then, now, everything=True)
    deleted = {s["object_id"] for s in plan["steps"] if s["op"] == "delete"}
    assert deleted == {U1, G2}
    kept = next(c for c in plan["created_after"] if c["id"] == G1)
    assert not kept["deleted"] and "permanent" in kept["reason"]


def test_restore_plan_of_a_recreated_user_holds_a_password_slot_never_a_password():
    plan = _plan(State({"user": {U1: _user(U1)}}, {}), State({"user": {}}, {}), ids=(U1,))
    body = plan["steps"][0]["body"]
    assert body["passwordProfile"] == {"forceChangePasswordNextSignIn": True, "password": planner.PASSWORD_SLOT}


def test_restore_plan_reports_only_chosen_pairs_for_audited_membership_changes():
    then, now = _then(), State({"user": _then().objects["user"], "group": _then().objects["group"]},
                               {"group_member": {(G1, U1), (G1, G2), (G2, U2), (G2, U3)}})
    plan = Planner(then, now, Selection(pairs=frozenset({("group_member", G2, U3)}), objects_too=False),
                   Options()).build()
    assert [(s["op"], s["object_id"], s["remove"]) for s in plan["steps"]] == [("link", G2, [U3])]


def test_restore_plan_counts_batched_requests_twenty_writes_each():
    members = {f"{i:08d}-0000-0000-0000-000000000000" for i in range(45)}
    users = {m: _user(m) for m in members}
    then = State({"user": users, "group": {G1: _group(G1)}}, {"group_member": {(G1, m) for m in members}})
    now = State({"user": users, "group": {G1: _group(G1)}}, {"group_member": set()})
    plan = _plan(then, now, everything=True)
    assert plan["requests"]["writes"] == 3  # 45 members in PATCHes of 20 members@odata.bind
    assert plan["requests"]["batches"] == 1  # no reads: the session checks production before writing
