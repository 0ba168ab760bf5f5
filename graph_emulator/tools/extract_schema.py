"""Developer tool: distil per-type schema extracts into graph_emulator/data/schema.json.

Run by hand (never at runtime):  python graph_emulator/tools/extract_schema.py GRAPH_DIR
GRAPH_DIR holds ``schema/<type>.json`` (one entity type of microsoftgraph/msgraph-metadata's v1.0 CSDL each,
with its inherited properties and referenced complex types), ``schema/doc_property_flags/<type>.docflags.json``
(default / $select-only / single-GET-only markers from the resource pages of microsoftgraph/microsoft-graph-docs)
and ``examples/`` (response bodies from those docs). The emulator, and entrabackup's
``entrabackup/graph/tools/make_properties.py``, only read the compact output file, which names its sources.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

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


def main() -> None:
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
