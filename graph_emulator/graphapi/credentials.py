"""Credentials of applications and service principals: addPassword / removePassword
(https://learn.microsoft.com/graph/api/application-addpassword, .../application-removepassword,
.../serviceprincipal-addpassword) and addKey / removeKey with their proof of possession
(https://learn.microsoft.com/graph/api/application-addkey, .../application-removekey).

passwordCredentials cannot be PATCHed (writerules.READ_ONLY): these actions are the only way in, and the
secret is in the addPassword answer only. A secret or certificate added to a registered app (one the
emulator issues tokens to) works at the token endpoint at once, and stops working when removed: the
"credential added to an application" attack is real here, and so is its undoing."""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from graph_emulator import audit, identity, jwt
from graph_emulator.common import GraphError, Response, bad_request, iso, json_response, parse_iso
from graph_emulator.generator.common import guid
from graph_emulator.graphapi.context import Ctx

NO_CONTENT = Response(204, b"", {}, None)
ACTIONS = {"addPassword", "removePassword", "addKey", "removeKey"}
PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000"  # application-addkey: the proof's aud
DEFAULT_LIFETIME = 2 * 365 * 86400  # addPassword without endDateTime: valid for two years


def action_name(segment: str) -> str | None:
    name = segment.removeprefix("microsoft.graph.")
    return name if name in ACTIONS else None


def handle(ctx: Ctx, kind: str, obj: dict, action: str) -> Response:
    if ctx.method != "POST":
        raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    return {"addPassword": add_password, "removePassword": remove_password, "addKey": add_key,
            "removeKey": remove_key}[action](ctx, kind, obj)


def _parse_time(value, name: str) -> float:
    try:
        return parse_iso(str(value))
    except ValueError:
        raise bad_request(f"Invalid value specified for property '{name}' of resource 'PasswordCredential'.") from None


def add_password(ctx: Ctx, kind: str, obj: dict) -> Response:
    """200 + passwordCredential with secretText (shown only here)."""
    tenant = ctx.tenant
    given = ctx.json().get("passwordCredential") or {}
    if not isinstance(given, dict):
        raise bad_request("Invalid value specified for property 'passwordCredential'.")
    start = _parse_time(given["startDateTime"], "startDateTime") if given.get("startDateTime") else tenant.now()
    end = _parse_time(given["endDateTime"], "endDateTime") if given.get("endDateTime") else start + DEFAULT_LIFETIME
    if end <= start:
        raise bad_request("Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.")
    secret = secrets.token_urlsafe(30)
    cred = {"customKeyIdentifier": None, "displayName": given.get("displayName"), "endDateTime": iso(end),
            "hint": secret[:3], "keyId": guid(random.Random(uuid.uuid4().int)), "secretText": None,
            "startDateTime": iso(start)}
    old = list(obj.get("passwordCredentials") or [])
    tenant.apply(["patch", kind, obj["id"], {"passwordCredentials": [*old, cred]}])
    _token_credentials(tenant, obj, lambda c: c["secrets"].append(
        {"keyId": cred["keyId"], "hash": identity.secret_hash(secret)}))
    _record(ctx, kind, obj, "password", old, [*old, cred], added=True)
    return json_response(200, {"@odata.context": ctx.context_url("microsoft.graph.passwordCredential"),
                               **cred, "secretText": secret})


def remove_password(ctx: Ctx, kind: str, obj: dict) -> Response:
    key_id = str(ctx.json().get("keyId") or "")
    old = list(obj.get("passwordCredentials") or [])
    if not any(c["keyId"] == key_id for c in old):
        raise bad_request(f"No password credential with keyId '{key_id}' exists on the {kind[:-1]}.")
    new = [c for c in old if c["keyId"] != key_id]
    ctx.tenant.apply(["patch", kind, obj["id"], {"passwordCredentials": new}])
    _token_credentials(ctx.tenant, obj, lambda c: c.update(secrets=[s for s in c["secrets"] if s["keyId"] != key_id]))
    _record(ctx, kind, obj, "password", old, new, added=False)
    return NO_CONTENT


def _check_proof(obj: dict, proof) -> None:
    """The proof is a JWT signed with the private key of one of the object's current certificates."""
    if not proof:
        raise bad_request("Invalid value specified for property 'proof'.")
    try:
        header, claims, signing_input, sig = jwt.parse(str(proof))
    except jwt.JwtError:
        raise bad_request("Invalid value specified for property 'proof'.") from None
    now = time.time()
    if claims.get("aud") != PROOF_AUDIENCE or claims.get("iss") != obj["id"] or not (
            float(claims.get("nbf", now + 1)) <= now + 300 and now - 300 < float(claims.get("exp", 0))):
        raise bad_request("Key credential proof validation failed: check its aud, iss, nbf and exp claims.")
    for cred in obj.get("keyCredentials") or []:
        if not cred.get("key"):
            continue
        cert = x509.load_der_x509_certificate(base64.b64decode(cred["key"]))
        if jwt.thumbprints(cert)[0] == header.get("x5t") and jwt.verify(
                cert.public_key(), header.get("alg", ""), signing_input, sig):
            return
    raise bad_request("Key credential proof validation failed: it is not signed by a current certificate.")


def add_key(ctx: Ctx, kind: str, obj: dict) -> Response:
    """200 + keyCredential; needs a proof signed by an existing certificate (else PATCH keyCredentials)."""
    data = ctx.json()
    _check_proof(obj, data.get("proof"))
    given = data.get("keyCredential") or {}
    try:
        der = base64.b64decode(str(given.get("key") or ""), validate=True)
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        raise bad_request("Invalid value specified for property 'key' of resource 'KeyCredential'.") from None
    if given.get("type") != "AsymmetricX509Cert" or given.get("usage") not in ("Verify", "Sign"):
        raise bad_request("Invalid value specified for property 'type' of resource 'KeyCredential'.")
    cred = {"customKeyIdentifier": base64.b64encode(hashlib.sha1(der).digest()).decode(),  # noqa: S324 - thumbprint
            "displayName": given.get("displayName") or cert.subject.rfc4514_string(),
            "endDateTime": iso(cert.not_valid_after_utc.timestamp()), "key": None,
            "keyId": guid(random.Random(uuid.uuid4().int)),
            "startDateTime": iso(cert.not_valid_before_utc.timestamp()), "type": "AsymmetricX509Cert",
            "usage": given["usage"]}
    old = list(obj.get("keyCredentials") or [])
    ctx.tenant.apply(["patch", kind, obj["id"], {"keyCredentials": [*old, {**cred, "key": given["key"]}]}])
    x5t, x5t256 = jwt.thumbprints(cert)
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    _token_credentials(ctx.tenant, obj, lambda c: c["certs"].append(
        {"x5t": x5t, "x5t256": x5t256, "pem": pem, "keyId": cred["keyId"]}))
    _record(ctx, kind, obj, "certificate", old, [*old, cred], added=True)
    return json_response(200, {"@odata.context": ctx.context_url("microsoft.graph.keyCredential"), **cred})


def remove_key(ctx: Ctx, kind: str, obj: dict) -> Response:
    data = ctx.json()
    _check_proof(obj, data.get("proof"))
    key_id = str(data.get("keyId") or "")
    old = list(obj.get("keyCredentials") or [])
    if not any(c["keyId"] == key_id for c in old):
        raise bad_request(f"No key credential with keyId '{key_id}' exists on the {kind[:-1]}.")
    new = [c for c in old if c["keyId"] != key_id]
    ctx.tenant.apply(["patch", kind, obj["id"], {"keyCredentials": new}])
    _token_credentials(ctx.tenant, obj, lambda c: c.update(certs=[x for x in c["certs"] if x.get("keyId") != key_id]))
    _record(ctx, kind, obj, "certificate", old, new, added=False)
    return NO_CONTENT


def _token_credentials(tenant, obj: dict, change) -> None:
    """Apply ``change`` to what the token endpoint accepts for this app (only apps it issues tokens to)."""
    registered = tenant.creds.get(obj.get("appId"))
    if registered is None:
        return
    cred = {**registered, "secrets": list(registered.get("secrets", [])), "certs": list(registered.get("certs", []))}
    change(cred)
    tenant.apply(["cred", obj["appId"], cred])


def key_description(cred: dict, key_type: str) -> str:
    """How the audit log describes one credential: [KeyIdentifier=...,KeyType=...,KeyUsage=...,DisplayName=...]."""
    usage = cred.get("usage", "Verify")
    return (f"[KeyIdentifier={cred['keyId']},KeyType={key_type},KeyUsage={usage},"
            f"DisplayName={cred.get('displayName') or ''}]")


def _record(ctx: Ctx, kind: str, obj: dict, what: str, old: list, new: list, added: bool) -> None:
    key_type = "Password" if what == "password" else "AsymmetricX509Cert"
    props = [audit.modified("KeyDescription", [key_description(c, key_type) for c in old] or None,
                            [key_description(c, key_type) for c in new] or None), audit.included(["KeyDescription"])]
    if kind == "applications":
        activity, type_name = "Update application – Certificates and secrets management ", "Application"
    else:
        activity = f"{'Add' if added else 'Remove'} service principal credentials"
        type_name = "ServicePrincipal"
    audit.record(ctx.tenant, activity, "ApplicationManagement", "Update", audit.app_initiator(ctx.tenant, ctx.claims),
                 [audit.target(obj, type_name, props)])
