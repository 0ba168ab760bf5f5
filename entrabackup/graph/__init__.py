"""Microsoft Graph client: the only code in entrabackup that speaks HTTP to Graph (plain Python, no Django).

Usage::

    from entrabackup.graph import CLOUDS, ClientSecret, GraphClient, select_for

    with GraphClient(CLOUDS["global"], tenant_id, client_id, ClientSecret(value)) as graph:
        for user in graph.list_all("user"):          # $select of every property, $top=999, all pages
            ...
        round_ = graph.delta_or_full("/users", delta_link=saved, select=select_for("user"))
        for page in round_: ...
        saved = round_.delta_link                     # after the last page; round_.resynced = full read
        results = graph.batch([{"method": "GET", "url": "/groups/{id}/members"}, ...])
        print(graph.stats.as_dict())

API
---
clouds:       ``Cloud(name, authority_host, graph_url, ca_bundle=None)`` (``.scope``, ``.authority(tenant)``),
              ``CLOUDS`` = global / usgov / usgov-dod / china, ``get_cloud(name)``,
              ``custom_cloud(authority_url, graph_url, ca_bundle, name="custom", *,
              graph_resource="https://graph.microsoft.com")`` — the global cloud reached at other URLs (the
              emulator: ``custom_cloud(emu.url, emu.url, emu.ca_path)``); tokens are for ``graph_resource``.
credentials:  ``ClientSecret(value)``, ``ClientCertificate(private_key_pem, certificate_pem, use_sha1_thumbprint=False)``,
              ``load_pem(key, cert, password=None)``, ``load_pfx(data, password=None)``,
              ``generate_self_signed(common_name, days=730) -> GeneratedCertificate`` (key + cert PEM, thumbprints).
auth:         ``TokenProvider(cloud, tenant_id, client_id, credential, http_client=None)`` with ``token()``,
              ``invalidate()``, ``claims() -> TokenClaims(roles, tenant_id, app_id, expires_at)``; ``decode_claims(jwt)``.
client:       ``GraphClient(cloud, tenant_id, client_id, credential, *, timeout, max_retries=8, pacing=True,
              user_agent, api_version="v1.0", max_connections=10, stats=None, token_provider=None,
              transport=None, sleep=time.sleep, rng=None)`` with
              ``get(path_or_url, params, headers) -> Any``, ``iter_pages(path, params, headers)``,
              ``iter_values(path, params, headers)``, ``list_all(object_type, *, select, params, headers)``,
              ``delta(path, *, delta_link, select, params, headers) -> DeltaRound`` (raises DeltaExpiredError),
              ``delta_or_full(...) -> DeltaRound`` (falls back to a full initial round, ``.resynced``),
              ``batch(requests) -> list[dict]`` (sub-responses in input order; throttled ones resent),
              ``get_collections(paths, *, params, headers, missing_ok=True) -> Iterator[(path, items | None)]``,
              ``post(path, json, headers, idempotent=False)``, ``patch``, ``put``,
              ``delete``, ``token_claims()``, ``missing_permissions()``, ``stats``, ``close()``, context manager.
batch:        ``item_error(sub_response, method, url) -> GraphError | None`` for batch results.
DeltaRound:   iterate pages once; ``values()`` iterates objects; ``delta_link`` after exhaustion; ``resynced``.
properties:   ``select_for(type)``, ``excluded_for(type)``, ``collection_for(type)``, ``list_params(type)``.
pacing:       ``PacingLimits(...)`` / ``PacingLimits.for_tenant_size(users)``, ``pacer_for(tenant, app)``, ``reset_pacers()``.
permissions:  ``FEATURES``, ``missing_permissions(granted_roles, features=None)``, ``grant_instructions(missing)``.
stats:        ``GraphStats`` (requests, resource_units, retries, throttled_429, server_errors_5xx, transport_errors,
              bytes_received, bytes_sent, wait_seconds_network/backoff/pacing), ``as_dict()``, ``merge()``.
errors:       ``GraphError`` (status, code, request_id, message, hint) and subclasses below.

Retries: 429 and 503 honour Retry-After (fractional seconds or HTTP date), else exponential back-off with full
jitter (cap 60 s); 500/502/504, timeouts, dropped connections and truncated JSON are retried for idempotent
requests (GET, PUT, PATCH, DELETE, read-only $batch) — a POST is retried only when the connection was never made
or the server said 429/503; 401 refreshes the token once. After ``max_retries``: ThrottledError or
GraphUnavailableError.
"""

from .auth import TokenClaims, TokenProvider, decode_claims
from .batch import item_error
from .client import GraphClient
from .clouds import CLOUDS, Cloud, custom_cloud, get_cloud
from .credentials import (
    ClientCertificate,
    ClientSecret,
    GeneratedCertificate,
    generate_self_signed,
    load_pem,
    load_pfx,
)
from .delta import DeltaRound
from .errors import (
    ApplicationNotFoundError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DeltaExpiredError,
    GraphError,
    GraphUnavailableError,
    GraphUnreachableError,
    InvalidCredentialError,
    LicenceRequiredError,
    NotFoundError,
    PermissionDeniedError,
    TenantNotFoundError,
    ThrottledError,
    UnauthorizedError,
)
from .pacing import PacingLimits, pacer_for, reset_pacers
from .permissions import FEATURES, grant_instructions, missing_permissions
from .properties import collection_for, excluded_for, list_params, select_for
from .stats import GraphStats

__all__ = [
    "CLOUDS", "FEATURES", "ApplicationNotFoundError", "AuthenticationError", "BadRequestError",
    "ClientCertificate", "ClientSecret", "Cloud", "ConflictError", "DeltaExpiredError", "DeltaRound",
    "GeneratedCertificate", "GraphClient", "GraphError", "GraphStats", "GraphUnavailableError",
    "GraphUnreachableError", "InvalidCredentialError", "LicenceRequiredError", "NotFoundError", "PacingLimits",
    "PermissionDeniedError", "TenantNotFoundError", "ThrottledError", "TokenClaims", "TokenProvider",
    "UnauthorizedError", "collection_for", "custom_cloud", "decode_claims", "excluded_for", "generate_self_signed",
    "get_cloud", "grant_instructions", "item_error", "list_params", "load_pem", "load_pfx", "missing_permissions",
    "pacer_for", "reset_pacers", "select_for",
]
