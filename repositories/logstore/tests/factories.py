"""Varied audit records shaped like Graph's directoryAudit resource
(https://learn.microsoft.com/graph/api/resources/directoryaudit), for tests and benchmarks."""

import random
import uuid
from datetime import UTC, datetime, timedelta

ACTIVITIES = [
    ("UserManagement", "Add member to group", "Group"),
    ("UserManagement", "Update user", "User"),
    ("UserManagement", "Add user", "User"),
    ("UserManagement", "Delete user", "User"),
    ("GroupManagement", "Remove member from group", "Group"),
    ("ApplicationManagement", "Update application", "Application"),
    ("ApplicationManagement", "Add service principal credentials", "ServicePrincipal"),
    ("RoleManagement", "Add member to role", "Role"),
    ("Policy", "Update conditional access policy", "Policy"),
    ("Device", "Update device", "Device"),
]
PROPERTIES = ["DisplayName", "AccountEnabled", "Department", "JobTitle", "MobilePhone", "UsageLocation",
              "StrongAuthenticationMethod", "AssignedLicense", "Included Updated Properties"]
SERVICES = ["Core Directory", "Core Directory", "Core Directory", "Conditional Access", "Self-service Password Management"]


def audit_records(count: int, *, start: datetime | None = None, seed: int = 1, users: int = 500) -> list[dict]:
    """`count` audit records a few seconds apart, by a few hundred users and apps of one tenant."""
    rng = random.Random(seed)
    at = start or datetime(2026, 11, 30, tzinfo=UTC)
    people = [(str(uuid.UUID(int=rng.getrandbits(128))), f"User {i}", f"user{i}@contoso.example", f"10.{i % 250}.{i % 7}.{i % 200 + 1}")
              for i in range(users)]
    targets = [(str(uuid.UUID(int=rng.getrandbits(128))), f"Object {i}") for i in range(users * 4)]
    records = []
    for _ in range(count):
        at += timedelta(milliseconds=rng.randint(50, 4000))
        category, activity, kind = rng.choice(ACTIVITIES)
        records.append(_record(rng, at, category, activity, kind, rng.choice(people), rng.choice(targets)))
    return records


def _record(rng, at, category, activity, kind, person, target) -> dict:
    user_id, name, upn, ip = person
    by_app = rng.random() < 0.2
    initiated = ({"app": {"appId": user_id, "displayName": f"Sync app {name[-1]}", "servicePrincipalId": user_id,
                          "servicePrincipalName": None}, "user": None} if by_app else
                 {"user": {"id": user_id, "displayName": name, "userPrincipalName": upn, "ipAddress": ip}, "app": None})
    changed = [{"displayName": prop, "oldValue": f'["{rng.randint(0, 99)}"]', "newValue": f'["{rng.randint(0, 99)}"]'}
               for prop in rng.sample(PROPERTIES, rng.randint(0, 3))]
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond:06d}0Z"
    return {
        "id": f"Directory_{uuid.UUID(int=rng.getrandbits(128))}".upper()[:45],
        "category": category,
        "correlationId": str(uuid.UUID(int=rng.getrandbits(128))),
        "result": "success" if rng.random() < 0.95 else "failure",
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": stamp,
        "loggedByService": rng.choice(SERVICES),
        "operationType": "Update" if "Update" in activity else rng.choice(["Add", "Delete", "Assign"]),
        "initiatedBy": initiated,
        "targetResources": [{"id": target[0], "displayName": target[1], "type": kind, "userPrincipalName": None,
                             "groupType": None, "modifiedProperties": changed}],
        "additionalDetails": [{"key": "User-Agent", "value": "Microsoft Azure Graph Client Library 1.0"}]
        if rng.random() < 0.5 else [],
    }
