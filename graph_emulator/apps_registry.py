"""Registering an app the emulator can authenticate: application + service principal + admin-consented
Graph app role assignments (token `roles`), like an admin does in Entra."""

from __future__ import annotations

import base64
import hashlib
import random

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from graph_emulator import audit, identity, jwt
from graph_emulator.common import iso
from graph_emulator.generator.apps import assignment, credential, make_app, sp_for
from graph_emulator.generator.common import guid
from graph_emulator.permissions import GRAPH_APP_ID, app_role_id


def register(tenant, name: str, roles: list[str], want_secret: bool, cert_pem: str | None, secret: str) -> dict:
    rng = random.Random(f"{tenant.id}/app/{len(tenant.creds)}/{name}")
    with tenant.lock:
        app = make_app(rng, len(tenant.creds), tenant.meta)
        app.update(displayName=name, createdDateTime=iso(tenant.now()), passwordCredentials=[], keyCredentials=[],
                   requiredResourceAccess=[{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [
                       {"id": app_role_id(r), "type": "Role"} for r in roles]}])
        cred = {"display_name": name, "roles": roles, "app_object_id": app["id"], "secrets": [], "certs": []}
        if want_secret:
            pc = credential(rng, tenant.now(), "password", "emulator secret", start=tenant.now())
            pc["hint"] = secret[:3]
            app["passwordCredentials"].append(pc)
            cred["secrets"].append({"keyId": pc["keyId"], "hash": identity.secret_hash(secret)})
        if cert_pem:
            app["keyCredentials"].append(_cert_credential(rng, cert_pem, cred))
        sp = sp_for(rng, app, tenant.meta)
        sp.pop("createdDateTime", None)
        cred["sp_id"] = sp["id"]
        tenant.apply(["put", "applications", app])
        tenant.apply(["put", "servicePrincipals", sp])
        graph = next(s for s in tenant.objs["servicePrincipals"].values() if s["appId"] == GRAPH_APP_ID)
        for r in roles:
            a = assignment(rng, sp, "ServicePrincipal", graph, app_role_id(r), tenant.now())
            a["createdDateTime"] = iso(tenant.now())
            tenant.apply(["put", "appRoleAssignments", a])
        tenant.apply(["cred", app["appId"], cred])
        audit.record(tenant, "Add application", "ApplicationManagement", "Add", audit.admin(tenant),
                     [audit.target(app, "Application")])
        audit.record(tenant, "Add service principal", "ApplicationManagement", "Add", audit.admin(tenant),
                     [audit.target(sp, "ServicePrincipal")])
    out = {"client_id": app["appId"], "app_object_id": app["id"], "service_principal_id": sp["id"],
           "tenant_id": tenant.id}
    if want_secret:
        out["client_secret"] = secret
    return out


def _cert_credential(rng, cert_pem: str, cred: dict) -> dict:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError as exc:
        raise ValueError(f"certificate_pem is not a PEM certificate: {exc}") from None
    x5t, x5t256 = jwt.thumbprints(cert)
    cred["certs"].append({"x5t": x5t, "x5t256": x5t256, "pem": cert_pem})
    der = cert.public_bytes(serialization.Encoding.DER)
    return {"customKeyIdentifier": base64.b64encode(hashlib.sha1(der).digest()).decode(), "displayName": cert.subject.rfc4514_string(),  # noqa: S324 - thumbprint
            "endDateTime": iso(cert.not_valid_after_utc.timestamp()), "key": base64.b64encode(der).decode(),
            "keyId": guid(rng), "startDateTime": iso(cert.not_valid_before_utc.timestamp()),
            "type": "AsymmetricX509Cert", "usage": "Verify"}
