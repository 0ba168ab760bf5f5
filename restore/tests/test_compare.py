"""The compare engine on a real repository: two restore points written as a backup writes them."""

import pytest

from repositories.store.tests.helpers import user
from restore.compare import CREATED, DELETED, RESTORED, compare
from restore.history import object_timeline

T = "contoso"
POLICY = {"id": "p1", "displayName": "Require MFA", "state": "enabled", "modifiedDateTime": "2026-01-01T00:00:00Z",
          "conditions": {"users": {"includeUsers": ["All"], "excludeGroups": ["g1"]}},
          "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}
GA = {"id": "rd-ga", "displayName": "Global Administrator", "isBuiltIn": True}


def _point(store, key, users, groups, members, policy, role_members=(), assignments=()):
    with store.session(T, key, "full") as w:
        w.put_full("user", users)
        w.put_full("group", groups)
        w.put_relations_full("group_member", members, None)
        w.put_full("conditionalAccessPolicy", [policy])
        w.put_full("roleDefinition", [GA])
        w.put_full("directoryRole", [{"id": "role-ga", "displayName": "Global Administrator", "roleTemplateId": "rd-ga"}])
        w.put_relations_full("directory_role_member", list(role_members), None)
        w.put_full("roleAssignment", list(assignments))
        return w.commit()


@pytest.fixture(scope="module")
def points(module_store):
    store = module_store
    groups = [{"id": "g1", "displayName": "Finance"}]
    first = _point(store, "s1", [user(1), user(2), user(3)], groups,
                   [("g1", "u-0001", "user"), ("g1", "u-0002", "user")], POLICY)
    edited = user(1, jobTitle="Chief Restorer", signInActivity={"lastSignInDateTime": "2026-02-02T00:00:00Z"})
    disabled = {**POLICY, "state": "disabled", "modifiedDateTime": "2026-02-02T00:00:00Z",
                "conditions": {"users": {"includeUsers": ["All"], "excludeGroups": []}}}
    assignment = {"id": "ra-1", "principalId": "u-0002", "roleDefinitionId": "rd-ga", "directoryScopeId": "/"}
    second = _point(store, "s2", [edited, user(2), user(4, displayName="<script>alert(1)</script>")], groups,
                    [("g1", "u-0001", "user")], disabled, [("role-ga", "u-0002", "user")], [assignment])
    return first, second


def _change(report, object_id):
    return next(c for c in report.changes if c.object_id == object_id)


def test_compare_reports_attribute_edits_with_old_and_new_values_without_volatile_noise(module_store, points):
    store = module_store
    report = compare(store, T, *points)
    edited = _change(report, "u-0001")
    assert [(a.name, a.old, a.new) for a in edited.attributes] == [("jobTitle", "Engineer", "Chief Restorer")]
    policy = _change(report, "p1")
    assert [(a.name, a.old, a.new) for a in policy.attributes] == [("state", "enabled", "disabled")]
    assert [(r.relationship, r.other.label, r.change) for r in policy.relations] == [("excludes group", "Finance", "removed")]
    noisy = compare(store, T, *points, include_volatile=True)
    assert {a.name for a in _change(noisy, "u-0001").attributes} == {"jobTitle", "signInActivity.lastSignInDateTime"}
    assert "modifiedDateTime" in {a.name for a in _change(noisy, "p1").attributes}


def test_compare_names_related_objects_and_reports_relationship_changes(module_store, points):
    store = module_store
    report = compare(store, T, *points)
    group = _change(report, "g1")
    assert [(r.relationship, r.other.name, r.change) for r in group.relations] == [
        ("member", "User 2 (user2@contoso.example)", "removed")]
    role = _change(report, "role-ga")
    assert [(r.relationship, r.other.name, r.change) for r in role.relations] == [
        ("member", "User 2 (user2@contoso.example)", "added")]
    assert _change(report, "ra-1").name == "Global Administrator → User 2 (user2@contoso.example)"
    assert (_change(report, "ra-1").change, _change(report, "u-0004").change) == (CREATED, CREATED)
    deleted = _change(report, "u-0003")
    assert (deleted.change, deleted.deleted, deleted.name) == (DELETED, "missing", "User 3 (user3@contoso.example)")


def test_compare_backwards_swaps_created_and_deleted(module_store, points):
    store = module_store
    first, second = points
    report = compare(store, T, second, first)
    assert _change(report, "u-0003").change == CREATED  # it was gone for good, not in the recycle bin
    assert _change(report, "u-0004").change == DELETED
    assert [(a.old, a.new) for a in _change(report, "p1").attributes] == [("disabled", "enabled")]


def test_compare_of_one_object_includes_relationships_it_is_the_target_of(module_store, points):
    store = module_store
    report = compare(store, T, *points, object_id="u-0002")
    [change] = report.changes
    assert change.object_id == "u-0002" and change.attributes == []
    assert sorted((r.relationship, r.other.name, r.change) for r in change.relations) == [
        ("holds role", "Global Administrator", "added"), ("member of", "Finance", "removed")]


def test_report_filters_by_type_and_change_and_flattens_to_rows(module_store, points):
    store = module_store
    report = compare(store, T, *points, types=["user"])
    assert {c.object_type for c in report.changes} == {"user"}
    assert [c.object_id for c in report.filtered(changes=[DELETED]).changes] == ["u-0003"]
    rows = list(report.rows())
    assert {"type": "user", "object_id": "u-0001", "object": "User 1 (user1@contoso.example)", "change": "changed",
            "attribute": "jobTitle", "old": "Engineer", "new": "Chief Restorer"} in rows
    assert report.as_dict()["counts"]["user"] == {"created": 1, "deleted": 1, "restored": 0, "changed": 1}


def test_a_soft_deleted_object_that_comes_back_is_restored(module_store, points):
    store = module_store
    first, second = points
    with store.session(T, "s3", "full") as w:
        w.put_full("user", [user(1), user(4)])
        w.mark_soft_deleted("user", ["u-0002"])
        third = w.commit()
    with store.session(T, "s4", "full") as w:
        w.put_full("user", [user(1), user(2), user(4)])
        fourth = w.commit()
    assert _change(compare(store, T, second, third, types=["user"]), "u-0002").deleted == "soft"
    assert _change(compare(store, T, third, fourth, types=["user"]), "u-0002").change == RESTORED


def test_unknown_type_is_refused(module_store, points):
    store = module_store
    with pytest.raises(ValueError, match="Unknown object type 'usr'"):
        compare(store, T, *points, types=["usr"])


def test_history_shows_attributes_old_to_new_and_relationships_on_both_sides(module_store, points):
    store = module_store
    first, second = points
    rps = [rp for rp in store.restore_points(T) if rp.id in points]
    [latest, initial] = object_timeline(store, T, "user", "u-0002", rps)
    assert (latest.restore_point.id, initial.restore_point.id, initial.change) == (second, first, CREATED)
    assert sorted((r.relationship, r.other.label, r.change) for r in latest.relations) == [
        ("holds role", "Global Administrator", "added"), ("member of", "Finance", "removed"),
        ("role assignment", "Global Administrator", "added")]
    [policy, _] = object_timeline(store, T, "conditionalAccessPolicy", "p1", rps)
    assert [(a.name, a.old, a.new) for a in policy.attributes] == [("state", "enabled", "disabled")]
    assert [(r.relationship, r.other.label, r.change) for r in policy.relations] == [("excludes group", "Finance", "removed")]
    [gone, _] = object_timeline(store, T, "user", "u-0003", rps)
    assert (gone.change, gone.deleted) == (DELETED, "missing")
