"""One table of the log types a log job can back up; reading, naming and indexing derive from it.

Directory audits: https://learn.microsoft.com/graph/api/directoryaudit-list (activityDateTime ge/le).
Interactive sign-ins (v1.0): https://learn.microsoft.com/graph/api/signin-list (createdDateTime ge/le).
Other sign-ins need beta and `signInEventTypes/any(t: t eq '...')`:
https://learn.microsoft.com/graph/api/signin-list?view=graph-rest-beta . Sign-in logs need Entra ID P1/P2.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat
from operator import itemgetter

import orjson

# Graph's record ids are GUIDs (sign-ins) or `<Service>_<GUID>`-like strings (audits): none starts so.
CONTENT_ID_PREFIX = "entrabackup-sha256-"


@dataclass(frozen=True)
class LogType:
    key: str  # also the log repository's folder name: letters, digits, hyphens
    label: str
    path: str
    beta: bool
    time_field: str
    event_type: str | None = None
    export_group: str = "signin"  # logs_export --type

    def filter(self, start: datetime, end: datetime) -> str:
        window = f"{self.time_field} ge {iso(start)} and {self.time_field} le {iso(end)}"
        return f"signInEventTypes/any(t: t eq '{self.event_type}') and {window}" if self.event_type else window


LOG_TYPES = {t.key: t for t in [
    LogType("audit", "Directory audits", "/auditLogs/directoryAudits", False, "activityDateTime", None, "audit"),
    LogType("signin", "Interactive sign-ins", "/auditLogs/signIns", False, "createdDateTime"),
    LogType("signin-noninteractive", "Non-interactive sign-ins", "/auditLogs/signIns", True, "createdDateTime",
            "nonInteractiveUser"),
    LogType("signin-serviceprincipal", "Service principal sign-ins", "/auditLogs/signIns", True, "createdDateTime",
            "servicePrincipal"),
    LogType("signin-managedidentity", "Managed identity sign-ins", "/auditLogs/signIns", True, "createdDateTime",
            "managedIdentity"),
]}
ALIASES = {"signins": [k for k in LOG_TYPES if k.startswith("signin")], "all": list(LOG_TYPES)}


def iso(moment: datetime) -> str:
    """The precise ISO form Graph's logs use (7 fractional digits, Z)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def parse_time(text: str) -> datetime:
    """A Graph log timestamp (up to 7 fractional digits) as an aware datetime."""
    if text.endswith("Z"):
        try:  # Python >= 3.11 reads Graph's form itself (digits past the 6th cut off), several times faster
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    head, _, frac = text.rstrip("Z").partition(".")
    base = datetime.fromisoformat(head).replace(tzinfo=UTC)
    return base.replace(microsecond=int((frac + "000000")[:6])) if frac else base


def ensure_id(record: dict) -> bool:
    """Give a record that came without a usable `id` (missing, null, empty, not a string) a stable one: the
    sha-256 of its canonical JSON (sorted keys) without `id`, prefixed with CONTENT_ID_PREFIX. The same
    record read again gets the same id, so the overlap still skips it. True when the id was derived."""
    if isinstance(record.get("id"), str) and record["id"]:
        return False
    content = {key: value for key, value in record.items() if key != "id"}
    record["id"] = CONTENT_ID_PREFIX + hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return True


def record_time(log_type: LogType, record: dict) -> datetime:
    return parse_time(record[log_type.time_field])


def record_times(log_type: LogType, records: list[dict]) -> list[datetime]:
    """record_time of each record, for a chunk or a slice at a time."""
    return parse_times(list(map(itemgetter(log_type.time_field), records)))


def parse_times(texts: list[str]) -> list[datetime]:
    """parse_time of each; Graph's usual form (ending in Z) read by datetime.fromisoformat in one pass."""
    if all(map(str.endswith, texts, repeat("Z"))):
        try:
            return list(map(datetime.fromisoformat, texts))  # aware, UTC: each ends in Z
        except ValueError:
            pass
    return list(map(parse_time, texts))


def index_fields(log_type: LogType, record: dict) -> dict:
    """The key fields the index keeps of a record (the log explorer searches them)."""
    if log_type.key == "audit":
        by = record.get("initiatedBy") or {}
        user, app = by.get("user") or {}, by.get("app") or {}
        targets = record.get("targetResources") or []
        return {"category": record.get("category") or "", "activity": record.get("activityDisplayName") or "",
                "result": record.get("result") or "", "user_id": user.get("id") or "",
                "user_upn": user.get("userPrincipalName") or "", "app_id": app.get("appId") or "",
                "app_name": app.get("displayName") or "", "target_ids": [t.get("id") or "" for t in targets],
                "target_names": [t.get("displayName") or t.get("userPrincipalName") or "" for t in targets],
                "correlation_id": record.get("correlationId") or "", "ip_address": user.get("ipAddress") or "",
                "application": record.get("loggedByService") or "", "status": record.get("resultReason") or ""}
    status = record.get("status") or {}
    return {"category": log_type.key, "activity": "Sign-in", "result": "success" if not status.get("errorCode")
            else "failure", "user_id": record.get("userId") or "", "user_upn": record.get("userPrincipalName") or "",
            "app_id": record.get("appId") or "", "app_name": record.get("appDisplayName") or "",
            "target_ids": [record.get("resourceId") or ""], "target_names": [record.get("resourceDisplayName") or ""],
            "correlation_id": record.get("correlationId") or "", "ip_address": record.get("ipAddress") or "",
            "application": record.get("appDisplayName") or "", "status": str(status.get("errorCode") or 0)}


def types_validate(chosen: list[str] | None) -> list[str]:
    """The chosen log types in table order (aliases `signins` and `all` expand); ValueError names unknown ones."""
    wanted = set()
    for name in chosen or ["all"]:
        name = name.strip()
        if name in ALIASES:
            wanted.update(ALIASES[name])
        elif name in LOG_TYPES:
            wanted.add(name)
        elif name:
            raise ValueError(f"Unknown log type {name!r}; choose from {', '.join([*LOG_TYPES, *ALIASES])}.")
    return [k for k in LOG_TYPES if k in wanted]
