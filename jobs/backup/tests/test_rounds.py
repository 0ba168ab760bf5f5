"""The round merging on its own (no I/O): repeated appearances, relation annotations, removals."""

from __future__ import annotations

from jobs.backup.deltatypes import DELTA_TYPES, RoundLog, _merged_items

U = "#microsoft.graph.user"


def test_consecutive_slices_of_a_group_become_one_object_with_every_member():
    items = [
        {"id": "g1", "displayName": "Big", "members@delta": [{"@odata.type": U, "id": "u1"}]},
        {"id": "g1", "displayName": "Big", "members@delta": [{"@odata.type": U, "id": "u2"},
                                                              {"@odata.type": "#microsoft.graph.group", "id": "g9"}]},
        {"id": "g2", "displayName": "Small"},
    ]
    log = RoundLog()
    out = list(_merged_items(items, DELTA_TYPES["group"], log, keep_removed=False))
    assert out == [{"id": "g1", "displayName": "Big"}, {"id": "g2", "displayName": "Small"}]
    assert log.added["group_member"] == [("g1", "u1", "user"), ("g1", "u2", "user"), ("g1", "g9", "group")]
    assert log.present == ["g1", "g2"]


def test_removals_pass_through_in_delta_rounds_and_are_left_out_of_full_reads():
    items = [{"id": "g1", "@removed": {"reason": "deleted"}},
             {"id": "g2", "members@delta": [{"@odata.type": U, "id": "u1", "@removed": {"reason": "deleted"}}]}]
    log = RoundLog()
    out = list(_merged_items(items, DELTA_TYPES["group"], log, keep_removed=True))
    assert out == [items[0], {"id": "g2"}]
    assert log.removals == {"g1": "deleted"} and log.removed["group_member"] == [("g2", "u1")]
    assert list(_merged_items(items[:1], DELTA_TYPES["group"], RoundLog(), keep_removed=False)) == []


def test_manager_delta_states_the_whole_value_of_the_users_that_carry_it():
    items = [{"id": "a", "manager@delta": [{"@odata.type": U, "id": "m1"}]},
             {"id": "b", "manager@delta": [{"@odata.type": U, "id": "m0", "@removed": {"reason": "deleted"}}]},
             {"id": "c", "jobTitle": "x"}]
    log = RoundLog()
    out = list(_merged_items(items, DELTA_TYPES["user"], log, keep_removed=True))
    assert out == [{"id": "a"}, {"id": "b"}, {"id": "c", "jobTitle": "x"}]
    assert log.stated["manager"] == {"a", "b"} and log.added["manager"] == [("a", "m1", "user")]
