"""extract_schema.py --csdl: an entity type from Microsoft's CSDL metadata document into schema.json."""

from __future__ import annotations

import json
import shutil

import pytest

from graph_emulator import schema
from graph_emulator.tools import extract_schema


def csdl_of(entity: str) -> str:
    """A CSDL document (namespace alias "graph", as $metadata writes it) holding ``entity`` as schema.json
    has it, with directoryObject and entity as its bases, and the complex types it references."""
    entry = json.loads(schema.DATA.read_text())["types"][entity]

    def props(pairs) -> str:
        return "".join(f'<Property Name="{n}" Type="{t.replace("microsoft.graph.", "graph.")}"/>' for n, t in pairs)

    own = entry["props"][len(entry["inherited"]):]
    complex_types = "".join(f'<ComplexType Name="{n}">{props(p)}</ComplexType>' for n, p in entry["complex"].items())
    return (
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0"><edmx:DataServices>'
        '<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="microsoft.graph" Alias="graph">'
        f'<EntityType Name="entity" Abstract="true"><Key><PropertyRef Name="id"/></Key>{props([["id", "Edm.String"]])}'
        '</EntityType>'
        '<EntityType Name="directoryObject" BaseType="graph.entity" OpenType="true">'
        f'{props([["deletedDateTime", "Edm.DateTimeOffset"]])}</EntityType>'
        f'<EntityType Name="{entity}" BaseType="graph.directoryObject" OpenType="true">{props(own)}'
        '<NavigationProperty Name="manager" Type="graph.directoryObject"/></EntityType>'
        f'{complex_types}</Schema></edmx:DataServices></edmx:Edmx>'
    )


def test_an_entity_type_from_csdl_is_what_schema_json_holds_for_it():
    committed = json.loads(schema.DATA.read_text())["types"]["orgContact"]
    entry = extract_schema.from_csdl(csdl_of("orgContact"), ["orgContact"])["orgContact"]
    assert entry == {k: committed[k] for k in ("props", "inherited", "complex")}
    assert entry["props"][:2] == [["id", "Edm.String"], ["deletedDateTime", "Edm.DateTimeOffset"]]
    assert "manager" not in dict(entry["props"])  # navigation properties are not structural


def test_adding_a_type_keeps_the_others(tmp_path):
    out = tmp_path / "schema.json"
    shutil.copy(schema.DATA, out)
    csdl = tmp_path / "metadata.xml"
    csdl.write_text(csdl_of("orgContact").replace('Name="orgContact"', 'Name="newContact"'))
    extract_schema.add_from_csdl(csdl, ["newContact"], output=out)
    types = json.loads(out.read_text())["types"]
    assert set(types) == set(json.loads(schema.DATA.read_text())["types"]) | {"newContact"}
    assert types["newContact"]["props"] == types["orgContact"]["props"]


def test_an_unknown_type_is_named():
    with pytest.raises(SystemExit, match="'nope' is not an EntityType"):
        extract_schema.from_csdl(csdl_of("orgContact"), ["nope"])
