"""properties.json is regenerated from inside the project: the Graph emulator's schema data."""

import json

import pytest

from entrabackup import objecttypes
from entrabackup.graph import properties
from entrabackup.graph.tools import make_properties


def test_regenerating_properties_json_from_the_emulator_schema_gives_the_committed_file():
    assert make_properties.DEFAULT_SCHEMA.is_file()
    assert make_properties.build(make_properties.DEFAULT_SCHEMA) == json.loads(make_properties.OUTPUT.read_text())


def test_select_lists_keep_the_csdl_order_own_properties_then_inherited():
    user = make_properties.build(make_properties.DEFAULT_SCHEMA)["types"]["user"]["select"]
    assert user[0] == "accountEnabled" and user[-2:] == ["deletedDateTime", "id"]
    assert "aboutMe" not in user and "signInActivity" not in user


def test_the_generated_types_are_the_registrys_graph_types_and_the_clients_other_collections():
    assert set(make_properties.TYPES) == {t.graph_type for t in objecttypes.TYPES} | set(properties.COLLECTIONS)


def test_a_graph_type_missing_from_the_schema_is_named(tmp_path):
    schema = json.loads(make_properties.DEFAULT_SCHEMA.read_text())
    del schema["types"]["orgContact"]
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    with pytest.raises(SystemExit, match="'orgContact' is not in .*extract_schema.py"):
        make_properties.build(tmp_path / "schema.json")
