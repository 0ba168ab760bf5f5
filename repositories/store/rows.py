"""The values the store returns."""

from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass
class TypeCounts:
    """What one read of an object type did: objects read, and versions written per outcome."""

    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def add(self, other: "TypeCounts") -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class RestorePoint:
    id: int
    session_key: str
    kind: str
    started_at: datetime
    committed_at: datetime | None
    types: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectRow:
    """One object as of a restore point. A tombstone has `deleted` set; `data` is then its last state."""

    object_type: str
    object_id: str
    display_name: str | None
    upn: str | None
    mail: str | None
    app_id: str | None
    data: dict | None
    deleted: str | None
    valid_from: int
    valid_to: int | None


@dataclass(frozen=True)
class RelationRow:
    kind: str
    source_id: str
    target_id: str
    target_type: str | None
    valid_from: int
    valid_to: int | None


@dataclass(frozen=True)
class VersionRow:
    """One version in an object's history; `changed_properties` is empty for the first version."""

    valid_from: int
    valid_to: int | None
    deleted: str | None
    changed_properties: list[str]
    data: dict | None
