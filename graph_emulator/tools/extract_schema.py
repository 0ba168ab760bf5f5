"""Developer tool: build graph_emulator/data/schema.json, the emulator's (and make_properties.py's) schema data.

Run by hand (never at runtime). Two ways in:

* Add or refresh entity types from Microsoft's published CSDL metadata document, downloaded by hand from
  ``https://graph.microsoft.com/v1.0/$metadata`` (or microsoftgraph/msgraph-metadata's schemas/v1.0-Prod.csdl):

      python graph_emulator/tools/extract_schema.py --csdl METADATA.xml TYPE [TYPE ...]

  Each TYPE (an entity type name, e.g. ``orgContact``) gets its structural properties (inherited first, as
  Graph orders ``id`` first), the names of the inherited ones, and the complex types it references; the other
  types in schema.json are kept. The docs' per-property markers (``default``, ``single_only``, ``never``)
  are not in the CSDL: add them to the entry by hand from the type's resource page when it has them.

* Regenerate every type from GRAPH_DIR:  python graph_emulator/tools/extract_schema.py GRAPH_DIR
  GRAPH_DIR holds ``schema/<type>.json`` (one entity type of msgraph-metadata's v1.0 CSDL each, with its
  inherited properties and referenced complex types), ``schema/doc_property_flags/<type>.docflags.json``
  (default / $select-only / single-GET-only markers from the resource pages of microsoftgraph/microsoft-graph-docs)
  and ``examples/`` (response bodies from those docs). Nothing in the project produces GRAPH_DIR: those
  extracts were made by hand when schema.json was first written; the ``--csdl`` way needs none of them.

The emulator, and entrabackup's ``entrabackup/graph/tools/make_properties.py``, only read the compact output
file, which names its sources.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
OUTPUT = Path(__file__).resolve().parent.parent / "data" / "schema.json"

TYPES = [
    "user", "group", "application", "servicePrincipal", "appRoleAssignment", "oAuth2PermissionGrant",
    "directoryRole", "unifiedRoleDefinition", "unifiedRoleAssignment", "administrativeUnit",
    "conditionalAccessPolicy", "namedLocation", "ipNamedLocation", "countryNamedLocation",
    "authenticationMethodsPolicy", "device", "domain", "organization", "directoryAudit", "signIn",
    "directoryObject", "orgContact",
]
FIXTURES = [
    "list-users.json", "get-user.json", "list-groups.json", "list-group-members.json", "list-directoryaudits.json",
    "error-advanced-query.json", "error-advanced-query.ex2.json", "entra-openid-configuration-v2.json",
    "entra-token-response-client-credentials.json", "throttling-429-sample.json", "group-delta.json",
    "user-delta.json", "delta-groups-walkthrough.ex2.json", "list-deleteditems.json", "restore-deleteditem.json",
    "json-batch.json", "list-signins.json", "beta-list-signins.json", "list-conditionalaccess-policies.json",
    "list-namedlocations.json", "get-authenticationmethodspolicy.json", "list-roleassignments.json",
    "list-roledefinitions.json", "list-directoryroles.json", "list-administrativeunits.json",
    "list-applications.json", "list-serviceprincipals.json", "list-devices.json", "list-domains.json",
    "list-organization.json", "list-oauth2permissiongrants.json", "list-user-approleassignments.json",
]


def _props(doc: dict) -> list[list[str]]:
    """All structural properties (inherited first, as Graph orders id first)."""
    out = []
    for inh in reversed(doc.get("inherited", [])):  # base types from the nearest: entity is last
        out += [[p["name"], p["type"]] for p in inh["properties"]]
    out += [[p["name"], p["type"]] for p in doc["properties"]]
    return out


def _complex(doc: dict) -> dict:
    refs = doc.get("referencedComplexAndEnumTypes", {})
    return {
        name.split(".")[-1]: [[p["name"], p["type"]] for p in t.get("properties", [])]
        for name, t in refs.items() if t.get("kind") == "complex"
    }


def _flags(root: Path, name: str) -> dict:
    path = root / "schema" / "doc_property_flags" / f"{name}.docflags.json"
    if not path.exists():
        return {}
    props = json.loads(path.read_text())["properties"]
    has_markers = any(p["returnedOnlyOnSelect"] for p in props)
    return {
        "default": [p["property"] for p in props if p["returnedByDefault"]] if has_markers else None,
        "single_only": [p["property"] for p in props if p["supportedOnlyOnGetSingle"]],
        "never": [p["property"] for p in props if p["neverReturnedOnGet"]],
    }


def _qualified(type_name: str, alias: str, namespace: str) -> str:
    """'Collection(graph.phone)' -> 'Collection(microsoft.graph.phone)' (schema.json spells the namespace)."""
    inner = type_name.removeprefix("Collection(").removesuffix(")")
    if inner.startswith(f"{alias}."):
        inner = namespace + inner[len(alias):]
    return f"Collection({inner})" if type_name.startswith("Collection(") else inner


def from_csdl(metadata: str, names: list[str]) -> dict[str, dict]:
    """schema.json entries of the entity types ``names`` from a CSDL metadata document (its text)."""
    # A developer tool reading Microsoft's metadata document, downloaded by hand; expat (>= 2.4.1) refuses
    # entity-expansion bombs and ElementTree does not fetch external entities.
    root = ET.fromstring(metadata)  # noqa: S314
    schema = next(el for el in root.iter(f"{EDM}Schema") if el.get("Namespace") == "microsoft.graph")
    namespace, alias = "microsoft.graph", schema.get("Alias") or "microsoft.graph"

    def short(type_name: str) -> str:
        return type_name.rsplit(".", 1)[-1]

    defs = {(el.tag, el.get("Name")): el for el in schema if el.tag in (f"{EDM}EntityType", f"{EDM}ComplexType")}

    def own(el) -> list[list[str]]:
        return [[p.get("Name"), _qualified(p.get("Type"), alias, namespace)] for p in el.findall(f"{EDM}Property")]

    def chain(tag: str, name: str) -> list:
        """The type and its base types, nearest first."""
        out, el = [], defs.get((tag, name))
        if el is None:
            raise SystemExit(f"{name!r} is not an {tag.removeprefix(EDM)} of namespace {namespace}")
        while el is not None:
            out.append(el)
            base = el.get("BaseType")
            el = defs.get((tag, short(base))) if base else None
        return out

    entries = {}
    for name in names:
        entity, *bases = chain(f"{EDM}EntityType", name)
        inherited = [prop for base in bases for prop in own(base)]
        props = [prop for base in reversed(bases) for prop in own(base)] + own(entity)
        complex_types, pending = {}, [t for _, t in props]
        while pending:
            ref = short(pending.pop().removeprefix("Collection(").removesuffix(")"))
            if ref in complex_types or (f"{EDM}ComplexType", ref) not in defs:
                continue
            complex_types[ref] = [prop for el in reversed(chain(f"{EDM}ComplexType", ref)) for prop in own(el)]
            pending += [t for _, t in complex_types[ref]]
        entries[name] = {"props": props, "inherited": [n for n, _ in inherited],
                         "complex": dict(sorted(complex_types.items()))}
    return entries


def add_from_csdl(csdl: Path, names: list[str], output: Path = OUTPUT) -> None:
    """Add (or refresh) ``names`` in schema.json from the CSDL document, keeping every other type."""
    data = json.loads(output.read_text())
    data["types"].update(from_csdl(csdl.read_text(), names))
    data["source"] += f"; {', '.join(names)}: {csdl.name} ($metadata, via extract_schema.py --csdl)"
    output.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True))


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--csdl":
        add_from_csdl(Path(sys.argv[2]), sys.argv[3:])
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = Path(sys.argv[1])
    here = Path(__file__).resolve().parent.parent
    types = {}
    for name in TYPES:
        doc = json.loads((root / "schema" / f"{name}.json").read_text())
        inherited = [p["name"] for inh in doc.get("inherited", []) for p in inh["properties"]]
        types[name] = {"props": _props(doc), "inherited": inherited, "complex": _complex(doc), **_flags(root, name)}
    beta = json.loads((root / "schema" / "beta" / "signIn.json").read_text())
    types["beta.signIn"] = {"props": _props(beta), "complex": _complex(beta)}
    out = {
        "source": "microsoftgraph/msgraph-metadata schemas/v1.0-Prod.csdl @f54f11b60956 (beta signIn: "
        "schemas/beta-USNat.csdl @f54f11b6); default/$select flags: microsoftgraph/microsoft-graph-docs "
        "api-reference/v1.0/resources/*.md @db3ad7292b82",
        "types": types,
    }
    (here / "data" / "schema.json").write_text(json.dumps(out, separators=(",", ":"), sort_keys=True))
    index = (root / "examples" / "INDEX.md").read_text().splitlines()
    fx = here / "tests" / "fixtures"
    sources = {}
    for name in FIXTURES:
        src = root / "examples" / name
        if src.exists():
            (fx / name).write_text(src.read_text())
            sources[name] = next((ln for ln in index if ln.startswith(f"| {name} ")), "see examples/INDEX.md")
    (fx / "SOURCES.json").write_text(json.dumps(sources, indent=1))


if __name__ == "__main__":
    main()
