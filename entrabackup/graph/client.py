"""GraphClient: the one object the product uses to talk to Microsoft Graph for one tenant and app.

Overview: https://learn.microsoft.com/graph/use-the-api ; paging: https://learn.microsoft.com/graph/paging
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from . import properties
from .auth import TokenClaims, TokenProvider
from .batch import item_error, run_batch
from .clouds import Cloud
from .credentials import ClientCertificate, ClientSecret
from .delta import DeltaRound
from .errors import GraphError, NotFoundError
from .pacing import PacingLimits, pacer_for
from .permissions import missing_permissions
from .requester import QUERY_SAFE, Requester
from .retry import RetryPolicy
from .stats import GraphStats

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_USER_AGENT = "entrabackup/0.1 (+https://github.com/entrabackup)"


class GraphClient:
    """Talks to Graph for one tenant with one app registration.

    ``pacing``: True (default budgets), a ``PacingLimits``, or False. ``sleep``, ``rng``, ``transport`` and
    ``token_provider`` are injectable for tests. Thread-safe: one client may serve several threads.
    """

    def __init__(
        self,
        cloud: Cloud,
        tenant_id: str,
        client_id: str,
        credential: ClientSecret | ClientCertificate | None = None,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 8,
        pacing: bool | PacingLimits = True,
        user_agent: str = DEFAULT_USER_AGENT,
        api_version: str = "v1.0",
        max_connections: int = 10,
        stats: GraphStats | None = None,
        token_provider: TokenProvider | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if token_provider is None and credential is None:
            raise ValueError("Either a credential or a token_provider is required.")
        self.cloud, self.tenant_id, self.client_id = cloud, tenant_id, client_id
        self.stats = stats or GraphStats()
        self.tokens = token_provider or TokenProvider(cloud, tenant_id, client_id, credential)
        self._http = _http_client(cloud, timeout, user_agent, max_connections, transport)
        pacer = None
        if pacing:
            pacer = pacer_for(tenant_id, client_id, pacing if isinstance(pacing, PacingLimits) else None)
        self._requester = Requester(
            self._http, cloud.graph_url, api_version, self.tokens,
            pacer=pacer, stats=self.stats, policy=RetryPolicy(max_retries=max_retries), sleep=sleep, rng=rng,
        )

    def __repr__(self) -> str:
        return f"GraphClient(cloud={self.cloud.name!r}, tenant_id={self.tenant_id!r}, client_id={self.client_id!r})"

    # -- reads -----------------------------------------------------------------------------------------

    def get(self, path_or_url: str, params: dict | None = None, headers: dict | None = None) -> Any:
        """GET one resource (or one page); returns the parsed JSON (text for ``$count``).
        https://learn.microsoft.com/graph/use-the-api"""
        return self._requester.request("GET", path_or_url, params=params, headers=headers).body

    def iter_pages(self, path: str, params: dict | None = None, headers: dict | None = None) -> Iterator[dict]:
        """Every page of a collection, following ``@odata.nextLink`` verbatim and resending ``headers``
        (e.g. ``ConsistencyLevel``) on each page. https://learn.microsoft.com/graph/paging
        """
        url, seen = path, set()
        while url:
            page = self._requester.request("GET", url, params=params, headers=headers).body
            if not isinstance(page, dict):
                raise GraphError(f"GET {path} did not return a JSON object.")
            yield page
            url, params = page.get("@odata.nextLink"), None
            if url in seen:  # a server bug would otherwise loop forever
                raise GraphError(f"GET {path}: the server repeated a nextLink.")
            seen.add(url)

    def iter_values(self, path: str, params: dict | None = None, headers: dict | None = None) -> Iterator[dict]:
        """The items of every page of a collection."""
        for page in self.iter_pages(path, params, headers):
            yield from page.get("value", ())

    def list_all(self, object_type: str, *, select: list[str] | None = None, params: dict | None = None,
                 headers: dict | None = None) -> Iterator[dict]:
        """Every object of a type with ``$select`` of its full property set and the largest ``$top``.

        E.g. ``list_all("user")`` = https://learn.microsoft.com/graph/api/user-list with every property.
        """
        query = {**properties.list_params(object_type, select), **(params or {})}
        collection = properties.collection_for(object_type)
        if collection.singleton:  # e.g. the authentication methods policy: the entity is the whole answer
            return iter([self.get(collection.path, query, headers)])
        return self.iter_values(collection.path, query, headers)

    def delta(self, path: str, *, delta_link: str | None = None, select: list[str] | None = None,
              params: dict | None = None, headers: dict | None = None) -> DeltaRound:
        """A delta round (https://learn.microsoft.com/graph/delta-query-overview). ``path`` is the collection
        (``/users``) or its ``/delta``; with ``delta_link`` the saved link is followed instead. Raises
        ``DeltaExpiredError`` when the saved link expired; see ``delta_or_full`` for the fallback.
        """
        return DeltaRound(self._requester, path, delta_link=delta_link,
                          params=_with_select(params, select), headers=headers)

    def delta_or_full(self, path: str, *, delta_link: str | None = None, select: list[str] | None = None,
                      params: dict | None = None, headers: dict | None = None) -> DeltaRound:
        """Like ``delta`` but an expired link restarts as an initial round (a full read); check ``.resynced``."""
        return DeltaRound(self._requester, path, delta_link=delta_link,
                          params=_with_select(params, select), headers=headers, fallback=True)

    def batch(self, requests: list[dict]) -> list[dict]:
        """Run sub-requests through ``POST /$batch`` (https://learn.microsoft.com/graph/json-batching).

        ``requests``: ``{"method", "url" (relative), "id"?, "headers"?, "body"?, "dependsOn"?}``. Returns the
        sub-responses in input order; throttled ones are resent, other failures are returned, not raised.
        """
        return run_batch(self._requester, requests)

    def get_collections(self, paths: list[str], *, params: dict | None = None, headers: dict | None = None,
                        missing_ok: bool = True) -> Iterator[tuple[str, list[dict] | None]]:
        """Read many small collections (e.g. ``/groups/{id}/members``) with first pages batched 20 at a time;
        longer ones continue by nextLink. Yields ``(path, items)`` in order; ``items`` is None for a 404 when
        ``missing_ok``; other failures raise typed errors. https://learn.microsoft.com/graph/json-batching
        """
        query = _query_string(params)
        requests = [{"method": "GET", "url": f"{p}{query}", "headers": headers} for p in paths]
        for path, request, response in zip(paths, requests, self.batch(requests), strict=True):
            error = item_error(response, "GET", request["url"])
            if error is not None:
                if missing_ok and isinstance(error, NotFoundError):
                    yield path, None
                    continue
                raise error
            body = response.get("body") or {}
            items = list(body.get("value", ()))
            if body.get("@odata.nextLink"):
                items.extend(self.iter_values(body["@odata.nextLink"], headers=headers))
            yield path, items

    # -- writes ----------------------------------------------------------------------------------------

    def post(self, path: str, json: Any = None, headers: dict | None = None, *, idempotent: bool = False) -> Any:
        """POST (create or action), e.g. https://learn.microsoft.com/graph/api/user-post-users .
        Not resent after a dropped connection (it may have been applied) unless ``idempotent``."""
        return self._requester.request("POST", path, json=json, headers=headers, idempotent=idempotent).body

    def patch(self, path: str, json: Any, headers: dict | None = None) -> Any:
        """PATCH (update), e.g. https://learn.microsoft.com/graph/api/user-update ; usually 204 -> None."""
        return self._requester.request("PATCH", path, json=json, headers=headers).body

    def put(self, path: str, json: Any, headers: dict | None = None) -> Any:
        """PUT (replace/upsert). https://learn.microsoft.com/graph/use-the-api"""
        return self._requester.request("PUT", path, json=json, headers=headers).body

    def delete(self, path: str, headers: dict | None = None) -> None:
        """DELETE, e.g. https://learn.microsoft.com/graph/api/user-delete (soft delete for users)."""
        self._requester.request("DELETE", path, headers=headers)

    # -- token and permissions -------------------------------------------------------------------------

    def token_claims(self) -> TokenClaims:
        """The roles, tenant and app of the current token (gets one if needed)."""
        return self.tokens.claims()

    def missing_permissions(self) -> dict[str, list[str]]:
        """Per product feature, the application permissions the token's roles lack."""
        return missing_permissions(self.token_claims().roles)

    def close(self) -> None:
        self._http.close()
        self.tokens.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _http_client(cloud: Cloud, timeout, user_agent: str, max_connections: int, transport) -> httpx.Client:
    # trust_env=False: SSL_CERT_FILE / proxies from the environment must not silently change where we connect.
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=cloud.ca_bundle) if cloud.ca_bundle else True
    return httpx.Client(
        verify=verify,
        trust_env=False,
        http2=False,
        timeout=timeout,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        headers={"User-Agent": user_agent, "Accept": "application/json"},
        transport=transport,
    )


def _query_string(params: dict | None) -> str:
    if not params:
        return ""
    return "?" + urlencode({k: v for k, v in params.items() if v is not None}, safe=QUERY_SAFE, quote_via=quote)


def _with_select(params: dict | None, select: list[str] | None) -> dict:
    result = dict(params or {})
    if select:
        result["$select"] = ",".join(select)
    return result
