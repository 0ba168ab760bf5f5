"""The object type registry is consistent, and the tables derived from it say what it says."""

import pytest

from entrabackup import objecttypes
from entrabackup.graph import collection_for, select_for
from entrabackup.graph.permissions import FEATURES, permission_for
from graph_emulator.kinds import KINDS, kind_of_type
from jobs.backup import OBJECT_TYPES, TYPE_LABELS
from jobs.backup.deltatypes import DELTA_TYPES
from repositories.store import canonical, relwriter


def test_names_and_relation_kinds_are_unique():
    assert len(objecttypes.NAMES) == len(set(objecttypes.NAMES))
    kinds = [r.kind for t in objecttypes.TYPES for r in t.relations]
    assert len(kinds) == len(set(kinds)) and set(kinds) == relwriter.KINDS


@pytest.mark.parametrize("spec", objecttypes.TYPES, ids=lambda t: t.name)
def test_every_type_is_readable_and_served_by_the_emulator(spec):
    select_for(spec.graph_type)  # its properties are known (ValueError otherwise)
    if spec.read != objecttypes.SPECIAL:
        assert collection_for(spec.graph_type).path == spec.path
    assert spec.path.startswith("/") and (spec.read == objecttypes.DELTA) == (spec.delta_path is not None)
    if spec.read == objecttypes.DELTA:
        assert spec.delta_path.endswith("/delta") and KINDS[kind_of_type(spec.graph_type)].delta
    assert spec.name == "authenticationMethodsPolicy" or kind_of_type(spec.graph_type) in KINDS


def test_derived_tables_follow_the_registry():
    assert OBJECT_TYPES[:4] == ["user", "group", "application", "servicePrincipal"]
    assert TYPE_LABELS["orgContact"] == "Organizational contacts"
    assert DELTA_TYPES["administrativeUnit"].delta_path == "/administrativeUnits/delta"
    assert DELTA_TYPES["group"].relations == (("members@delta", "group_member"),)
    assert DELTA_TYPES["group"].owners == "group_owner" and DELTA_TYPES["user"].single_valued == {"manager"}
    assert canonical.volatile("device") == {"approximateLastSignInDateTime", "onPremisesLastSyncDateTime"}
    assert canonical.volatile("domain") == frozenset()


def test_each_feature_needs_the_permissions_its_types_declare():
    assert set(FEATURES["directory_backup"]) == {
        "User.Read.All", "Group.Read.All", "Application.Read.All", "RoleManagement.Read.Directory",
        "AdministrativeUnit.Read.All", "Device.Read.All", "Domain.Read.All", "Organization.Read.All",
        "OrgContact.Read.All", "Policy.Read.All", "Directory.Read.All"}
    assert FEATURES["conditional_access"] == ("Policy.Read.All",)
    assert set(FEATURES["restore"]) == {
        "User.ReadWrite.All", "Group.ReadWrite.All", "Application.ReadWrite.All", "RoleManagement.ReadWrite.Directory",
        "Policy.ReadWrite.ConditionalAccess", "AdministrativeUnit.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
        "DelegatedPermissionGrant.ReadWrite.All"}
    assert permission_for("GET", ("contacts", "delta")) == ["OrgContact.Read.All"]
    assert permission_for("GET", ("administrativeUnits", "delta")) == ["AdministrativeUnit.Read.All"]
    assert permission_for("GET", ("groups", "1", "members")) == ["GroupMember.Read.All"]


def test_an_unknown_type_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match="known: user, group"):
        objecttypes.get("contact")


def test_every_kind_the_emulator_serves_is_backed_up():
    """The ground-truth tests compare the types of the registry; a kind missing from it would go unseen."""
    assert set(KINDS) == {kind_of_type(t.graph_type) for t in objecttypes.TYPES} - {None}
