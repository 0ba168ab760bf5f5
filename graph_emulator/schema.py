"""Property lists and EDM types copied from the v1.0 CSDL (data/schema.json, see tools/extract_schema.py)."""

from __future__ import annotations

import functools
from pathlib import Path

import orjson

DATA = Path(__file__).with_name("data") / "schema.json"


@functools.cache
def _types() -> dict:
    return orjson.loads(DATA.read_bytes())["types"]


def prop_types(type_name: str) -> dict[str, str]:
    """{property: EDM type} in CSDL order (id first)."""
    return {n: t for n, t in _types()[type_name]["props"]}


def prop_names(type_name: str) -> list[str]:
    return [n for n, _ in _types()[type_name]["props"]]


def complex_types(type_name: str) -> dict[str, dict[str, str]]:
    return {k: dict(v) for k, v in _types()[type_name]["complex"].items()}


def default_props(type_name: str) -> list[str] | None:
    """Documented default property set, or None when the docs say everything is returned by default."""
    return _types()[type_name].get("default")


def single_only(type_name: str) -> list[str]:
    return _types()[type_name].get("single_only") or []


def is_collection(edm: str) -> bool:
    return edm.startswith("Collection(")
