"""properties.json is regenerated from inside the project: the Graph emulator's schema data."""

import json

from entrabackup.graph.tools import make_properties


def test_regenerating_properties_json_from_the_emulator_schema_gives_the_committed_file():
    assert make_properties.DEFAULT_SCHEMA.is_file()
    assert make_properties.build(make_properties.DEFAULT_SCHEMA) == json.loads(make_properties.OUTPUT.read_text())


def test_select_lists_keep_the_csdl_order_own_properties_then_inherited():
    user = make_properties.build(make_properties.DEFAULT_SCHEMA)["types"]["user"]["select"]
    assert user[0] == "accountEnabled" and user[-2:] == ["deletedDateTime", "id"]
    assert "aboutMe" not in user and "signInActivity" not in user
