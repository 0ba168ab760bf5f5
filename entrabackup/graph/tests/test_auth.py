"""TokenProvider with the real msal against a fake authority (httpx.MockTransport as msal's http_client)."""

import base64
import json
from urllib.parse import parse_qs

import httpx
import pytest
import requests

from entrabackup.graph import (
    ApplicationNotFoundError,
    ClientSecret,
    GraphUnreachableError,
    InvalidCredentialError,
    TenantNotFoundError,
    TokenProvider,
    custom_cloud,
    decode_claims,
    generate_self_signed,
)
from entrabackup.graph.auth import build_http_session

AUTHORITY = "https://login.test:8443"
TENANT = "11111111-2222-3333-4444-555555555555"
SECRET = "s3cr3t-value-never-logged"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt(claims: dict) -> str:
    return f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(claims)}.c2ln"


class Authority:
    """A fake identity platform: OpenID discovery + token endpoint."""

    def __init__(self, token_answer=None, tenants=(TENANT,)):
        self.token_answer = token_answer
        self.tenants = tenants
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        tenant = request.url.path.split("/")[1]
        if tenant not in self.tenants:
            return httpx.Response(400, json={"error": "invalid_tenant", "error_codes": [90002]})
        if request.url.path.endswith("/openid-configuration"):
            base = f"{AUTHORITY}/{tenant}"
            return httpx.Response(200, json={
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token", "issuer": f"{base}/v2.0",
            })
        if self.token_answer is not None:
            return httpx.Response(400, json=self.token_answer)
        token = jwt({"roles": ["User.Read.All", "Group.Read.All"], "tid": tenant, "appid": "app-1", "exp": 2_000_000_000})
        return httpx.Response(200, json={"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    def token_posts(self):
        return [r for r in self.requests if r.method == "POST"]


class MockAdapter(requests.adapters.BaseAdapter):
    """Routes a requests.Session to the fake authority. (Not httpx as msal's http_client: msal passes the
    client assertion as bytes, which httpx form-encodes as "b'...'" — requests encodes it correctly.)"""

    def __init__(self, handler):
        super().__init__()
        self.handler = handler

    def send(self, request, **kwargs):
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = self.handler(httpx.Request(request.method, request.url, headers=request.headers, content=body))
        response = requests.Response()
        response.status_code, response._content = answer.status_code, answer.content
        response.headers.update(answer.headers)
        response.url, response.request = request.url, request
        return response

    def close(self):
        pass


def provider(authority: Authority, credential=None, tenant=TENANT) -> TokenProvider:
    http = build_http_session(None)
    http.mount("https://", MockAdapter(authority))
    return TokenProvider(custom_cloud(AUTHORITY, "https://graph.test"), tenant, "app-1",
                         credential or ClientSecret(SECRET), http_client=http)


def test_secret_token_is_acquired_once_and_served_from_cache():
    authority = Authority()
    tokens = provider(authority)
    first = tokens.token()
    assert tokens.token() == first
    assert len(authority.token_posts()) == 1
    body = parse_qs(authority.token_posts()[0].content.decode())
    assert body["grant_type"] == ["client_credentials"] and body["scope"] == ["https://graph.microsoft.com/.default"]
    assert all(r.url.host == "login.test" for r in authority.requests)  # no instance discovery at Microsoft


def test_invalidate_forces_a_new_token_from_the_server():
    authority = Authority()
    tokens = provider(authority)
    tokens.token()
    tokens.invalidate()
    tokens.token()
    assert len(authority.token_posts()) == 2


def test_claims_are_decoded_from_our_token():
    claims = provider(Authority()).claims()
    assert claims.roles == ("User.Read.All", "Group.Read.All")
    assert claims.tenant_id == TENANT and claims.app_id == "app-1" and claims.expires_at == 2_000_000_000


def test_opaque_token_gives_empty_claims():
    assert decode_claims("not-a-jwt").roles == ()


def test_certificate_credential_sends_a_ps256_assertion_with_sha256_thumbprint():
    generated = generate_self_signed("unit-test")
    authority = Authority()
    provider(authority, generated.credential()).token()
    body = parse_qs(authority.token_posts()[0].content.decode())
    assert "client_secret" not in body
    encoded = body["client_assertion"][0].split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert header["alg"] == "PS256" and header["x5t#S256"].rstrip("=") == generated.thumbprint_sha256_b64url  # msal pads it


def test_wrong_secret_is_an_invalid_credential_error_without_the_secret():
    answer = {"error": "invalid_client", "error_codes": [7000215],
              "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}
    with pytest.raises(InvalidCredentialError) as caught:
        provider(Authority(token_answer=answer)).token()
    assert caught.value.code == "AADSTS7000215"
    for text in (str(caught.value), repr(caught.value), caught.value.hint):
        assert SECRET not in text


@pytest.mark.parametrize("code", [7000222, 700027, 700024])
def test_expired_secret_and_bad_assertions_are_invalid_credentials(code):
    answer = {"error": "invalid_client", "error_codes": [code], "error_description": f"AADSTS{code}: nope"}
    with pytest.raises(InvalidCredentialError):
        provider(Authority(token_answer=answer)).token()


def test_unknown_application_is_reported_as_such():
    answer = {"error": "unauthorized_client", "error_codes": [700016], "error_description": "AADSTS700016: app not found"}
    with pytest.raises(ApplicationNotFoundError, match="app-1"):
        provider(Authority(token_answer=answer)).token()


def test_unknown_tenant_fails_at_discovery_with_tenant_not_found():
    with pytest.raises(TenantNotFoundError, match="not-a-tenant"):
        provider(Authority(), tenant="not-a-tenant").token()


def test_unreachable_authority_names_the_host():
    class Refusing(requests.Session):
        def get(self, *args, **kwargs):
            raise requests.exceptions.ConnectionError("refused")

    tokens = TokenProvider(custom_cloud(AUTHORITY, "https://graph.test"), TENANT, "app-1", ClientSecret(SECRET),
                           http_client=Refusing())
    with pytest.raises(GraphUnreachableError, match="login.test:8443") as caught:
        tokens.token()
    assert caught.value.transient


def test_msal_session_ignores_environment_ca_bundle(tmp_path, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent.pem")
    session = build_http_session(str(tmp_path / "ca.pem"))
    assert session.trust_env is False and session.verify == str(tmp_path / "ca.pem")
    assert build_http_session(None).verify is True


def test_reprs_hide_secrets():
    assert SECRET not in repr(ClientSecret(SECRET)) and SECRET not in str(ClientSecret(SECRET))
    assert "app-1" in repr(provider(Authority()))
