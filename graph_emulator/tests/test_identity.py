"""Identity platform: the real msal gets tokens (secret, RS256/x5t cert, PS256/x5t#S256 cert); errors have
Entra's shapes; Graph rejects bad tokens with 401 and missing permissions with 403."""

from __future__ import annotations

import base64
import datetime as dt
import time

import httpx
import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from graph_emulator.control import ssl_context
from graph_emulator.tests.conftest import acquire


def _cert():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backup-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return key_pem, cert_pem, cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303 - x5t thumbprint


def _claims(token: str) -> dict:
    part = token.split(".")[1]
    return orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_msal_acquires_token_with_client_secret_and_claims_match_entra(emu, shared):
    app = emu.control.register_app(shared.tid, ["User.Read.All"], display_name="secret-app")
    result = acquire(emu.url, emu.ca_path, shared.tid, app["client_id"], app["client_secret"])
    assert result["token_type"] == "Bearer" and result["expires_in"] == 3599
    claims = _claims(result["access_token"])
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["iss"] == f"https://sts.windows.net/{shared.tid}/"
    assert claims["tid"] == shared.tid and claims["appid"] == app["client_id"]
    assert claims["roles"] == ["User.Read.All"] and claims["app_displayname"] == "secret-app"
    assert claims["oid"] == app["service_principal_id"]
    assert claims["exp"] - claims["iat"] >= 3599


def test_msal_acquires_token_with_certificate_thumbprint_rs256(emu, shared):
    key_pem, cert_pem, sha1 = _cert()
    app = emu.control.register_app(shared.tid, ["User.Read.All"], secret=False, certificate_pem=cert_pem)
    result = acquire(emu.url, emu.ca_path, shared.tid, app["client_id"], {"private_key": key_pem, "thumbprint": sha1})
    assert "access_token" in result, result
    assert _claims(result["access_token"])["appidacr"] == "2"


def test_msal_acquires_token_with_public_certificate_ps256(emu, shared):
    key_pem, cert_pem, _ = _cert()
    app = emu.control.register_app(shared.tid, ["User.Read.All"], secret=False, certificate_pem=cert_pem)
    result = acquire(emu.url, emu.ca_path, shared.tid, app["client_id"],
                     {"private_key": key_pem, "public_certificate": cert_pem})
    assert "access_token" in result, result


def test_token_for_a_verified_domain_authority_works(emu, shared):
    app = emu.control.register_app(shared.tid, ["User.Read.All"])
    result = acquire(emu.url, emu.ca_path, shared.tenant["domain"], app["client_id"], app["client_secret"])
    assert "access_token" in result


def test_unregistered_certificate_is_rejected_with_aadsts700027(emu, shared):
    key_pem, cert_pem, sha1 = _cert()
    app = emu.control.register_app(shared.tid, ["User.Read.All"], secret=False, certificate_pem=_cert()[1])
    result = acquire(emu.url, emu.ca_path, shared.tid, app["client_id"], {"private_key": key_pem, "thumbprint": sha1})
    assert result["error"] == "invalid_client" and result["error_codes"] == [700027]


def test_bad_secret_answers_aadsts7000215_shape(emu, shared):
    app = emu.control.register_app(shared.tid, ["User.Read.All"])
    result = acquire(emu.url, emu.ca_path, shared.tid, app["client_id"], "wrong-secret")
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert result["error_codes"] == [7000215]
    assert {"timestamp", "trace_id", "correlation_id"} <= set(result)


def test_unknown_client_answers_aadsts700016(emu, shared):
    result = acquire(emu.url, emu.ca_path, shared.tid, "11111111-2222-3333-4444-555555555555", "x")
    assert result["error"] == "unauthorized_client" and result["error_codes"] == [700016]
    assert "Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory" in \
        result["error_description"]


def test_unknown_tenant_answers_aadsts90002_with_400(emu):
    with httpx.Client(verify=ssl_context(emu.ca_path), trust_env=False) as c:
        r = c.post(f"{emu.url}/00000000-0000-0000-0000-00000000abcd/oauth2/v2.0/token",
                   data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y",
                         "scope": "https://graph.microsoft.com/.default"})
        d = c.get(f"{emu.url}/nope.example/v2.0/.well-known/openid-configuration")
    assert r.status_code == 400 and r.json()["error_codes"] == [90002]
    assert r.json()["error_description"].startswith("AADSTS90002: Tenant '00000000-0000-0000-0000-00000000abcd' not found.")
    assert d.status_code == 400


def test_wrong_scope_answers_invalid_scope_aadsts70011(emu, shared):
    app = emu.control.register_app(shared.tid, ["User.Read.All"])
    with httpx.Client(verify=ssl_context(emu.ca_path), trust_env=False) as c:
        r = c.post(f"{emu.url}/{shared.tid}/oauth2/v2.0/token",
                   data={"grant_type": "client_credentials", "client_id": app["client_id"],
                         "client_secret": app["client_secret"], "scope": "openid profile"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope" and r.json()["error_codes"] == [70011]


def test_client_secret_basic_auth_is_accepted(emu, shared):
    app = emu.control.register_app(shared.tid, ["User.Read.All"])
    with httpx.Client(verify=ssl_context(emu.ca_path), trust_env=False) as c:
        r = c.post(f"{emu.url}/{shared.tid}/oauth2/v2.0/token", auth=(app["client_id"], app["client_secret"]),
                   data={"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"})
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer"


def test_openid_configuration_is_shaped_like_entra_and_points_at_emulator(emu, shared):
    from graph_emulator.tests.conftest import fixture

    with httpx.Client(verify=ssl_context(emu.ca_path), trust_env=False) as c:
        doc = c.get(f"{emu.url}/{shared.tid}/v2.0/.well-known/openid-configuration").json()
    assert set(fixture("entra-openid-configuration-v2.json")) <= set(doc)
    assert doc["token_endpoint"] == f"{emu.url}/{shared.tid}/oauth2/v2.0/token"
    assert doc["issuer"] == f"{emu.url}/{shared.tid}/v2.0"


def test_missing_permission_answers_403_authorization_request_denied(emu, shared):
    app = emu.control.register_app(shared.tid, ["User.Read.All"])
    token = acquire(emu.url, emu.ca_path, shared.tid, app["client_id"], app["client_secret"])["access_token"]
    with httpx.Client(base_url=emu.url, verify=ssl_context(emu.ca_path), trust_env=False,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/v1.0/users").status_code == 200
        r = c.get("/v1.0/identity/conditionalAccess/policies")
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "Authorization_RequestDenied"
    assert err["message"] == "Insufficient privileges to complete the operation."
    assert {"date", "request-id", "client-request-id"} <= set(err["innerError"])


def test_missing_garbled_and_foreign_tokens_answer_401(emu, shared):
    with httpx.Client(base_url=emu.url, verify=ssl_context(emu.ca_path), trust_env=False) as c:
        missing = c.get("/v1.0/users")
        garbled = c.get("/v1.0/users", headers={"Authorization": "Bearer abc.def"})
        parts = shared.token.split(".")
        forged_claims = _claims(shared.token) | {"tid": "99999999-9999-9999-9999-999999999999"}
        forged = ".".join([parts[0], base64.urlsafe_b64encode(orjson.dumps(forged_claims)).decode().rstrip("="),
                           parts[2]])
        foreign = c.get("/v1.0/users", headers={"Authorization": f"Bearer {forged}"})
    for r in (missing, garbled, foreign):
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_expired_token_answers_401_after_tenant_clock_advances(emu, fresh):
    g = fresh(users=10, roles=["User.Read.All"])
    assert g.get("/v1.0/users").status_code == 200
    g.mutate("advance_clock", seconds=3700)
    r = g.get("/v1.0/users")
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "Lifetime validation failed, the token is expired."
    assert time.time() > 0
