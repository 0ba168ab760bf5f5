"""Check a JSON value against the EDM types copied into graph_emulator/data/schema.json."""

from __future__ import annotations

import datetime as dt
import uuid

from graph_emulator import schema


def check_object(type_name: str, obj: dict, complex_types: dict | None = None) -> list[str]:
    """-> list of problems (unknown property, wrong type)."""
    props = schema.prop_types(type_name)
    complex_types = complex_types or schema.complex_types(type_name)
    problems = []
    for name, value in obj.items():
        if name.startswith("@") or "@" in name or name.startswith("extension_"):
            continue
        if name not in props:
            problems.append(f"{type_name}.{name}: not in schema")
            continue
        problems += check_value(f"{type_name}.{name}", props[name], value, complex_types)
    return problems


def check_value(where: str, edm: str, value, complex_types: dict) -> list[str]:
    if value is None:
        return []
    if edm.startswith("Collection("):
        if not isinstance(value, list):
            return [f"{where}: expected list, got {type(value).__name__}"]
        inner = edm[len("Collection("):-1]
        return [p for v in value for p in check_value(where + "[]", inner, v, complex_types)]
    simple = {"Edm.String": str, "Edm.Boolean": bool, "Edm.Int32": int, "Edm.Int64": int, "Edm.Binary": str,
              "Edm.Double": (int, float), "Edm.DateTimeOffset": str, "Edm.Guid": str, "Edm.Date": str}
    if edm in simple:
        if edm.startswith("Edm.Int") and isinstance(value, bool):
            return [f"{where}: bool for {edm}"]
        if not isinstance(value, simple[edm]):
            return [f"{where}: expected {edm}, got {value!r}"]
        if edm == "Edm.DateTimeOffset":
            try:
                dt.datetime.fromisoformat(value.replace("Z", "+00:00")[:19])
            except ValueError:
                return [f"{where}: bad DateTimeOffset {value!r}"]
        if edm == "Edm.Guid":
            try:
                uuid.UUID(value)
            except ValueError:
                return [f"{where}: bad Guid {value!r}"]
        return []
    short = edm.removeprefix("microsoft.graph.")
    if short in complex_types and complex_types[short]:  # empty = abstract base (e.g. ipRange): subtype unknown
        if not isinstance(value, dict):
            return [f"{where}: expected {short} object, got {value!r}"]
        known = complex_types[short]
        return [f"{where}.{k}: not in {short}" for k in value if not k.startswith("@") and k not in known] + [
            p for k, v in value.items() if k in known for p in check_value(f"{where}.{k}", known[k], v, complex_types)]
    return []  # enum or deeper complex type: not checked here
