"""Microsoft identity platform stand-in: OpenID discovery, client-credentials token endpoint, JWKS,
and validation of the access tokens Graph requests carry (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow)."""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse
import uuid

from cryptography import x509

from graph_emulator import jwt
from graph_emulator.common import GraphError, Response, json_response, utcnow
from graph_emulator.jwt import b64url

GRAPH_AUDIENCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000",
                   "https://graph.microsoft.com/")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME = 3599


def secret_hash(secret: str) -> str:
    """Stored instead of the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def aadsts(status: int, error: str, code: int, text: str) -> Response:
    """Entra error body: error, error_description with trace/correlation footer, error_codes, timestamp..."""
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = utcnow().strftime("%Y-%m-%d %H:%M:%SZ")
    desc = f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: {corr} Timestamp: {stamp}"
    body = {"error": error, "error_description": desc, "error_codes": [code], "timestamp": stamp,
            "trace_id": trace, "correlation_id": corr, "error_uri": f"https://login.microsoftonline.com/error?code={code}"}
    return json_response(status, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
                         "application/json; charset=utf-8")


def tenant_not_found(name: str) -> Response:
    return aadsts(400, "invalid_tenant", 90002, f"Tenant '{name}' not found. Check to make sure you have the correct "
                  "tenant ID and are signing into the correct cloud. Check with your subscription administrator, this "
                  "may happen if there are no active subscriptions for the tenant.")


def openid_configuration(base: str, tenant) -> Response:
    """Shaped like examples/entra-openid-configuration-v2.json, every endpoint on our https origin."""
    a = f"{base}/{tenant.id}"
    doc = {"token_endpoint": f"{a}/oauth2/v2.0/token",
           "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
           "jwks_uri": f"{a}/discovery/v2.0/keys", "response_modes_supported": ["query", "fragment", "form_post"],
           "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
           "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
           "scopes_supported": ["openid", "profile", "email", "offline_access"], "issuer": f"{a}/v2.0",
           "request_uri_parameter_supported": False, "userinfo_endpoint": f"{base}/oidc/userinfo",
           "authorization_endpoint": f"{a}/oauth2/v2.0/authorize",
           "device_authorization_endpoint": f"{a}/oauth2/v2.0/devicecode", "http_logout_supported": True,
           "frontchannel_logout_supported": True, "end_session_endpoint": f"{a}/oauth2/v2.0/logout",
           "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                                "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
                                "name", "tid", "ver", "at_hash", "c_hash", "email"],
           "kerberos_endpoint": f"{a}/kerberos", "tenant_region_scope": "WW", "cloud_instance_name": "microsoftonline.com",
           "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
           "rbac_url": "https://pas.windows.net"}
    return json_response(200, doc, {"Cache-Control": "max-age=86400, private"}, "application/json; charset=utf-8")


def jwks(pki) -> Response:
    pub = pki.signing_key.public_key().public_numbers()
    key = {"kty": "RSA", "use": "sig", "kid": pki.signing_kid, "x5t": pki.signing_kid,
           "n": b64url(pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")), "e": b64url(pub.e.to_bytes(3, "big"))}
    return json_response(200, {"keys": [key]}, content_type="application/json; charset=utf-8")


def _form(body: bytes, headers) -> dict:
    form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    auth = headers.get("Authorization", "")
    if auth.lower().startswith("basic "):  # client_secret_basic (RFC 6749 2.3.1: form-urlencoded id and secret)
        try:
            cid, _, secret = jwt.b64url_decode(auth[6:].replace("+", "-").replace("/", "_")).decode().partition(":")
            form.setdefault("client_id", urllib.parse.unquote_plus(cid))
            form.setdefault("client_secret", urllib.parse.unquote_plus(secret))
        except (ValueError, UnicodeDecodeError):
            pass
    return form


def token_endpoint(base: str, tenant, pki, body: bytes, headers) -> Response:
    form = _form(body, headers)
    if form.get("grant_type") != "client_credentials":
        return aadsts(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type "
                      f"'{form.get('grant_type', '')}'.")
    cid = form.get("client_id", "")
    cred = tenant.creds.get(cid)
    if cred is None:
        return aadsts(400, "unauthorized_client", 700016, f"Application with identifier '{cid}' was not found in the "
                      f"directory '{tenant.meta['name']}'. This can happen if the application has not been installed by "
                      "the administrator of the tenant or consented to by any user in the tenant. You may have sent your "
                      "authentication request to the wrong tenant.")
    scope = form.get("scope", "")
    if scope.strip() not in ("https://graph.microsoft.com/.default", "00000003-0000-0000-c000-000000000000/.default"):
        return aadsts(400, "invalid_scope", 70011, "The provided request must include a 'scope' input parameter. The "
                      f"provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid.")
    failure = _check_client(base, tenant, cid, cred, form)
    if failure:
        return failure
    token = issue_token(tenant, cid, cred, pki, "2" if "client_assertion" in form else "1")
    return json_response(200, {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME,
                               "access_token": token},
                         {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}, "application/json; charset=utf-8")


def _check_client(base: str, tenant, cid: str, cred: dict, form: dict) -> Response | None:
    if "client_assertion" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return aadsts(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
        problem = check_assertion(form["client_assertion"], cid, cred, f"{base}/{tenant.id}/oauth2/v2.0/token", tenant,
                                  base)
        return aadsts(401, "invalid_client", problem[0], problem[1]) if problem else None
    secret = form.get("client_secret")
    if not secret:
        return aadsts(401, "invalid_client", 7000216, "'client_assertion', 'client_secret' or 'request' is required "
                      "for the 'client_credentials' grant type.")
    if not any(hmac.compare_digest(s["hash"], secret_hash(secret)) for s in cred.get("secrets", [])):
        return aadsts(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in "
                      f"the request is the client secret value, not the client secret ID, for a secret added to app '{cid}'.")
    return None


def check_assertion(assertion: str, cid: str, cred: dict, token_url: str, tenant, base: str) -> tuple[int, str] | None:
    """Validate a client assertion like Entra: registered cert by x5t / x5t#S256, signature, aud, iss/sub, exp."""
    try:
        header, claims, signing_input, sig = jwt.parse(assertion)
    except jwt.JwtError:
        return 50027, "JWT token is invalid or malformed."
    cert = _find_cert(cred, header)
    if cert is None:
        return 700027, ("The certificate with identifier used to sign the client assertion is not registered on "
                        f"application. [Reason - The key was not found., Thumbprint of key used by client: "
                        f"'{header.get('x5t') or header.get('x5t#S256')}']")
    if not jwt.verify(cert.public_key(), header.get("alg", ""), signing_input, sig):
        return 700027, "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]"
    accepted = {token_url, f"{base}/{tenant.meta['domain']}/oauth2/v2.0/token"}
    if claims.get("aud") not in accepted:
        return 700038, f"{claims.get('aud')} is not a valid audience for client assertions; expected {token_url}."
    if claims.get("iss") != cid or claims.get("sub") != cid:
        return 700023, "Invalid JWT token. The iss and sub claims must equal the client id of the application."
    now = time.time()
    try:
        exp = float(claims["exp"])
        nbf = float(claims.get("nbf", claims.get("iat", now)))
    except (KeyError, TypeError, ValueError):
        return 50027, "JWT token is invalid or malformed."
    if exp < now - 300 or nbf > now + 300:  # Entra allows ~5 min clock skew
        return 700024, "Client assertion is not within its valid time range."
    return None


def _find_cert(cred: dict, header: dict) -> x509.Certificate | None:
    x5t, x5t256 = (header.get("x5t") or "").rstrip("="), (header.get("x5t#S256") or "").rstrip("=")
    for c in cred.get("certs", []):
        if (x5t and x5t == c["x5t"]) or (x5t256 and x5t256 == c["x5t256"]):
            return x509.load_pem_x509_certificate(c["pem"].encode())
    return None


def issue_token(tenant, cid: str, cred: dict, pki, appidacr: str) -> str:
    now = int(tenant.now())
    claims = {"aud": "https://graph.microsoft.com", "iss": f"https://sts.windows.net/{tenant.id}/", "iat": now,
              "nbf": now, "exp": now + TOKEN_LIFETIME + 1, "aio": b64url(uuid.uuid4().bytes),
              "app_displayname": cred["display_name"], "appid": cid, "appidacr": appidacr,
              "idp": f"https://sts.windows.net/{tenant.id}/", "idtyp": "app", "oid": cred["sp_id"],
              "rh": "0.emulator.", "roles": sorted(cred["roles"]), "sub": cred["sp_id"], "tenant_region_scope": "WW",
              "tid": tenant.id, "uti": b64url(uuid.uuid4().bytes)[:22], "ver": "1.0", "xms_tcdt": now - 86400 * 365}
    return jwt.sign_rs256(pki.signing_key, {"typ": "JWT", "alg": "RS256", "x5t": pki.signing_kid,
                                            "kid": pki.signing_kid}, claims)


class TokenValidator:
    """Checks Graph bearer tokens; caches good signatures (RSA verify per request would dominate latency)."""

    def __init__(self, pki, store):
        self.pki, self.store = pki, store
        self._cache: dict[str, dict] = {}

    def authenticate(self, auth_header: str | None):
        """-> (tenant, claims) or raise GraphError 401 InvalidAuthenticationToken (real messages)."""
        if not auth_header or not auth_header.lower().startswith("bearer ") or not auth_header[7:].strip():
            raise _invalid("Access token is empty.")
        token = auth_header[7:].strip()
        claims = self._cache.get(token)
        if claims is None:
            claims = self._verify(token)
        tenant = self.store.tenants.get(claims.get("tid", ""))
        if tenant is None or claims.get("iss") != f"https://sts.windows.net/{tenant.id}/":
            raise _invalid("Access token validation failure. Invalid issuer.")
        if tenant.now() >= claims["exp"]:
            raise _invalid("Lifetime validation failed, the token is expired.")
        return tenant, claims

    def _verify(self, token: str) -> dict:
        try:
            header, claims, signing_input, sig = jwt.parse(token)
        except jwt.JwtError:
            raise _invalid("IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or "
                           "JWE Compact Serialization Format.") from None
        if header.get("alg") != "RS256" or not jwt.verify(self.pki.signing_key.public_key(), "RS256", signing_input, sig):
            raise _invalid("Access token validation failure.")
        if claims.get("aud") not in GRAPH_AUDIENCES:
            raise _invalid("Access token validation failure. Invalid audience.")
        if len(self._cache) > 10000:
            self._cache.clear()
        self._cache[token] = claims
        return claims


def _invalid(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message,
                      headers={"WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'})
