"""Relations: full listings diffed against the current pairs, delta changes, as-of reads."""

import pytest

from .helpers import row_count

T = "contoso"


def members(rows):
    return sorted((r.source_id, r.target_id) for r in rows)


def test_full_listing_inserts_new_pairs_and_closes_missing_ones(store, conninfo):
    with store.session(T, "s1", "full") as w:
        assert w.put_relations_full("group_member", [("g1", "u1", "user"), ("g1", "u2", "user"),
                                                     ("g2", "u1", "user")], None) == 3
        r1 = w.commit()
    with store.session(T, "s2", "full") as w:
        assert w.put_relations_full("group_member", [("g1", "u1", "user"), ("g1", "u3", "user"),
                                                     ("g2", "u1", "user")], None) == 1
        r2 = w.commit()
    assert members(store.relations(T, r1)) == [("g1", "u1"), ("g1", "u2"), ("g2", "u1")]
    assert members(store.relations(T, r2)) == [("g1", "u1"), ("g1", "u3"), ("g2", "u1")]
    assert row_count(conninfo, "relation_version") == 4  # unchanged pairs cost no row
    assert store.latest_restore_point(T).stats["relations"] == {"group_member": {"added": 1, "removed": 1}}
    assert members(store.relations(T, r2, target_id="u1")) == [("g1", "u1"), ("g2", "u1")]
    assert [r.target_type for r in store.iter_relations(T, r2, "group_member")] == ["user"] * 3


def test_listing_for_some_sources_leaves_other_sources_alone(store):
    with store.session(T, "s1", "full") as w:
        w.put_relations_full("group_owner", [("g1", "u1", "user"), ("g2", "u2", "user")], None)
        w.commit()
    with store.session(T, "s2", "incremental") as w:
        w.put_relations_full("group_owner", [("g1", "u9", "user")], sources=["g1"])
        r2 = w.commit()
    assert members(store.relations(T, r2, kind="group_owner")) == [("g1", "u9"), ("g2", "u2")]


def test_delta_changes_add_and_remove_pairs(store):
    with store.session(T, "s1", "full") as w:
        w.put_relations_full("group_member", [("g1", "u1", "user"), ("g1", "u2", "user")], None)
        w.put_relations_full("manager", [("u2", "u1", "user")], None)
        r1 = w.commit()
    with store.session(T, "s2", "incremental") as w:
        w.put_relation_changes("group_member", added=[("g1", "u3", "user"), ("g1", "u4", "user")],
                               removed=[("g1", "u1")])
        w.put_relation_changes("group_member", removed=[("g1", "u4")])  # added then removed in one session
        r2 = w.commit()
    assert members(store.relations(T, r2, kind="group_member")) == [("g1", "u2"), ("g1", "u3")]
    assert members(store.relations(T, r1, kind="group_member")) == [("g1", "u1"), ("g1", "u2")]
    assert members(store.relations(T, r2, kind="manager")) == [("u2", "u1")]
    assert store.latest_restore_point(T).stats["relations"]["group_member"] == {"added": 2, "removed": 1}


def test_unknown_relation_kind_is_refused(store):
    with store.session(T, "s1", "full") as w, pytest.raises(ValueError, match="unknown relation kind"):
        w.put_relations_full("friends", [], None)


def test_pairs_without_target_type_are_accepted(store):
    with store.session(T, "s1", "full") as w:
        w.put_relation_changes("au_member", added=[("au1", "u1")])
        r = w.commit()
    assert [(x.source_id, x.target_id, x.target_type) for x in store.relations(T, r)] == [("au1", "u1", None)]


def test_a_hard_deleted_object_leaves_every_relation_and_a_soft_deleted_one_keeps_them(store):
    with store.session(T, "s1", "full") as w:
        w.put_full("user", [{"id": "u1", "displayName": "One"}, {"id": "u2", "displayName": "Two"}])
        w.put_full("group", [{"id": "g1", "displayName": "G"}])
        w.put_relations_full("group_member", [("g1", "u1", "user"), ("g1", "u2", "user")], None)
        w.put_relations_full("group_owner", [("g1", "u1", "user")], None)
        w.put_relations_full("manager", [("u2", "u1", "user")], None)
        r1 = w.commit()
    with store.session(T, "s2", "incremental") as w:  # u1 purged from the recycle bin, u2 sent to it
        w.put_delta("user", [{"id": "u1", "@removed": {"reason": "deleted"}},
                             {"id": "u2", "@removed": {"reason": "changed"}}])
        r2 = w.commit()
    assert len(store.relations(T, r1)) == 4
    assert members(store.relations(T, r2)) == [("g1", "u2")]
