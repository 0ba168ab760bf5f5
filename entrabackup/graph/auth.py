"""Client-credentials tokens from the Microsoft identity platform, through msal.

Flow: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
msal's ConfidentialClientApplication keeps the token in its in-memory cache and refreshes it five minutes
before expiry; we only add a tiny memo in front (one dict lookup instead of a cache search per request),
typed errors, and an HTTP session whose TLS trust we control (REQUESTS_CA_BUNDLE would override msal's verify=).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import msal
import requests
from requests.adapters import HTTPAdapter

from .clouds import Cloud
from .credentials import ClientCertificate, ClientSecret
from .errors import (
    ApplicationNotFoundError,
    AuthenticationError,
    GraphUnavailableError,
    GraphUnreachableError,
    InvalidCredentialError,
    TenantNotFoundError,
)

logger = logging.getLogger(__name__)

# AADSTS codes: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
_TENANT_CODES = {90002, 900023, 90072, 500011}
_APP_CODES = {700016}
_CREDENTIAL_CODES = {7000215, 7000222, 7000216, 700027, 700024, 700023, 7000274, 50012, 700025}
_REFRESH_MARGIN = 300  # seconds before expiry we stop using a token, like msal


@dataclass(frozen=True)
class TokenClaims:
    """Claims of our own access token, read without verifying the signature (we only inspect what we got)."""

    roles: tuple[str, ...] = ()
    tenant_id: str | None = None
    app_id: str | None = None
    expires_at: float | None = None


class TokenProvider:
    """Gets and caches app-only tokens for one (cloud, tenant, app)."""

    def __init__(
        self,
        cloud: Cloud,
        tenant_id: str,
        client_id: str,
        credential: ClientSecret | ClientCertificate,
        *,
        http_client=None,
        timeout: float = 30,
        clock=time.time,
    ) -> None:
        self.cloud, self.tenant_id, self.client_id = cloud, tenant_id, client_id
        self._credential = credential
        self._http_client = http_client
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._app: msal.ConfidentialClientApplication | None = None
        self._token: str | None = None
        self._use_until = 0.0

    def __repr__(self) -> str:
        return f"TokenProvider(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, cloud={self.cloud.name!r})"

    def token(self) -> str:
        """A valid access token for ``{graph_url}/.default`` (served from cache while it lasts)."""
        token = self._token
        if token and self._clock() < self._use_until:
            return token
        with self._lock:
            if self._token and self._clock() < self._use_until:
                return self._token
            return self._acquire()

    def invalidate(self) -> None:
        """Forget the current token (Graph answered 401), so the next call gets a new one from the server."""
        with self._lock:
            self._token, self._use_until = None, 0.0
            if self._app is not None:
                cache = self._app.token_cache
                for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                    cache.remove_at(item)

    def claims(self) -> TokenClaims:
        """Roles, tenant id, app id and expiry from the current token's payload."""
        return decode_claims(self.token())

    def close(self) -> None:
        if self._http_client is not None and hasattr(self._http_client, "close"):
            self._http_client.close()

    def _acquire(self) -> str:
        app = self._application()
        try:
            result = app.acquire_token_for_client(scopes=[self.cloud.scope])
        except requests.RequestException as exc:
            raise _network_error(exc, self.cloud.authority_host) from None
        if "access_token" not in result:
            raise token_error(result, self.tenant_id, self.client_id)
        self._token = result["access_token"]
        self._use_until = self._clock() + max(int(result.get("expires_in", 3599)) - _REFRESH_MARGIN, 30)
        logger.info(
            "Graph token for tenant %s app %s from %s, valid %ss",
            self.tenant_id, self.client_id, result.get("token_source", "identity provider"), result.get("expires_in"),
        )
        return self._token

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            self._app = self._build_application()
        return self._app

    def _build_application(self) -> msal.ConfidentialClientApplication:
        if self._http_client is None:
            self._http_client = build_http_session(self.cloud.ca_bundle)
        try:
            # msal fetches the OpenID configuration here, so a wrong tenant or an unreachable host fails now.
            return msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self._credential.msal_credential(),
                authority=self.cloud.authority(self.tenant_id),
                instance_discovery=self.cloud.is_microsoft_authority,
                http_client=self._http_client,
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise _network_error(exc, self.cloud.authority_host) from None
        except ValueError as exc:
            raise _construction_error(exc, self.cloud, self.tenant_id) from None


def build_http_session(ca_bundle: str | None) -> requests.Session:
    """A requests session for msal that ignores REQUESTS_CA_BUNDLE/proxy variables and trusts ``ca_bundle``."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle or True  # True = certifi's bundle
    session.mount("https://", HTTPAdapter(max_retries=1))  # what msal's default session does
    return session


def decode_claims(token: str) -> TokenClaims:
    """Decode a JWT payload without verification; an opaque token gives empty claims."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return TokenClaims()
    roles = data.get("roles") or ()
    return TokenClaims(
        roles=tuple(roles) if isinstance(roles, list) else (),
        tenant_id=data.get("tid"),
        app_id=data.get("appid") or data.get("azp"),
        expires_at=float(data["exp"]) if isinstance(data.get("exp"), int | float) else None,
    )


def token_error(result: dict, tenant_id: str, client_id: str) -> AuthenticationError:
    """Map an msal error dict (``{"error", "error_description", "error_codes"}``) to a typed error."""
    codes = set(result.get("error_codes") or []) | _codes_in(result.get("error_description", ""))
    code = f"AADSTS{min(codes)}" if codes else result.get("error")
    summary = _first_sentence(result.get("error_description") or result.get("error") or "token request failed")
    kwargs = {"code": code, "request_id": result.get("correlation_id")}
    if codes & _TENANT_CODES:
        return TenantNotFoundError(f"Tenant {tenant_id} was not found: {summary}", **kwargs)
    if codes & _APP_CODES:
        return ApplicationNotFoundError(f"App {client_id} is not registered in tenant {tenant_id}: {summary}", **kwargs)
    if codes & _CREDENTIAL_CODES or result.get("error") == "invalid_client":
        return InvalidCredentialError(f"The credential of app {client_id} was refused: {summary}", **kwargs)
    if result.get("error") in ("temporarily_unavailable", "server_error"):
        return GraphUnavailableError(f"The identity platform is unavailable: {summary}", **kwargs)
    return AuthenticationError(f"Token request for app {client_id} failed: {summary}", **kwargs)


def _construction_error(exc: ValueError, cloud: Cloud, tenant_id: str) -> Exception:
    text = str(exc)
    if "authority configuration" in text or "OIDC Discovery" in text:
        return TenantNotFoundError(f"Tenant {tenant_id} was not found at {cloud.authority_host}.")
    if "https url" in text:
        return ValueError(f"Invalid authority URL {cloud.authority(tenant_id)!r}.")
    # Anything else comes from loading the credential (e.g. an unreadable private key).
    return InvalidCredentialError("The certificate or private key could not be used to sign the assertion.")


def _network_error(exc: requests.RequestException, authority: str) -> Exception:
    host = urlsplit(authority).netloc
    if isinstance(exc, requests.exceptions.SSLError):
        return GraphUnreachableError(
            f"TLS verification failed for {host}.",
            hint="Check the cloud's CA bundle (custom clouds) or the system trust store.",
        )
    if isinstance(exc, requests.exceptions.HTTPError):
        status = exc.response.status_code if exc.response is not None else None
        return GraphUnavailableError(f"The identity platform at {host} answered HTTP {status}.", status=status)
    if isinstance(exc, requests.exceptions.Timeout | requests.exceptions.ConnectionError):
        error = GraphUnreachableError(f"Could not connect to the identity platform at {host}.")
        error.transient = True  # refused/reset/timed out: worth another try, unlike a TLS failure
        return error
    return GraphUnreachableError(f"Request to the identity platform at {host} failed ({type(exc).__name__}).")


def _codes_in(description: str) -> set[int]:
    return {int(c) for c in re.findall(r"AADSTS(\d+)", description or "")}


def _first_sentence(text: str) -> str:
    # Entra descriptions append "Trace ID/Correlation ID/Timestamp" lines; the first line is what matters.
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return first[:240]
