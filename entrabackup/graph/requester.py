"""One Graph request, done right: token, pacing, retries, error mapping and counting.

Retries follow https://learn.microsoft.com/graph/throttling and https://learn.microsoft.com/graph/errors :
429/503 honour Retry-After (else back-off); 500/502/504, timeouts, dropped connections and truncated bodies
are retried with exponential back-off and full jitter for idempotent requests only, because a POST that
reached the server may have been applied; 401 refreshes the token once.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import orjson

from .auth import TokenProvider
from .errormap import error_for
from .errors import GraphError, GraphUnavailableError, ThrottledError
from .pacing import Charge, Pacer, estimated_units, split_query
from .retry import RETRY_STATUSES, RetryPolicy, parse_retry_after
from .stats import GraphStats

logger = logging.getLogger(__name__)

# Errors raised before a single byte of the request left: safe to retry even for a POST.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
QUERY_SAFE = "$,()':/@"
MIN_429_BACKOFF = 1.0  # seconds; a 429 without Retry-After still means "not this very moment"  # keep OData query options readable, as in Microsoft's own examples


@dataclass
class Response:
    status: int
    headers: httpx.Headers
    body: Any  # parsed JSON, text for text/plain ($count), None when empty
    charges: list[Charge] = field(default_factory=list)


@dataclass
class _Retry:
    delay: float
    error: GraphError
    unauthorized: bool = False


class Requester:
    """Sends requests for one tenant+app; shared by the client, its delta rounds and its batches."""

    def __init__(
        self,
        http: httpx.Client,
        graph_url: str,
        api_version: str,
        tokens: TokenProvider,
        *,
        pacer: Pacer | None,
        stats: GraphStats,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.http = http
        self.graph_url = graph_url
        self.base_url = f"{graph_url}/{api_version}"
        self.tokens = tokens
        self.pacer = pacer
        self.stats = stats
        self.policy = policy
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        charge_for: list[tuple[str, tuple[str, ...], dict]] | None = None,
    ) -> Response:
        """Send with retries; returns the 2xx response or raises a typed ``GraphError``."""
        request = self.build(method, url, params, headers, json)
        segments, query = self.route(request.url)
        idempotent = method != "POST" if idempotent is None else idempotent
        to_charge = charge_for if charge_for is not None else [(method, segments, query)]
        refreshed, attempt = False, 0
        while True:
            outcome = self._attempt(request, (segments, query), to_charge, idempotent, attempt,
                                    own_units=charge_for is None)
            if isinstance(outcome, Response):
                return outcome
            if outcome.unauthorized and not refreshed:
                refreshed = True  # one fresh token per request; a second 401 is final
                self.tokens.invalidate()
                continue
            if outcome.unauthorized or attempt >= self.policy.max_retries:
                raise _give_up(outcome.error, attempt + 1)
            attempt += 1
            self._wait_before_retry(method, segments, outcome, attempt)

    def is_graph_url(self, url: str) -> bool:
        """Whether an absolute link (nextLink, a saved deltaLink) points at this client's Graph endpoint."""
        return url.startswith(self.graph_url + "/")

    def build(self, method: str, url: str, params: dict | None, headers: dict | None, json: Any) -> httpx.Request:
        if url.startswith(("https://", "http://")):
            # nextLink/deltaLink are followed verbatim, but the bearer token must never leave the Graph host.
            if not self.is_graph_url(url):
                raise ValueError(f"Refusing to send a Graph token to another host: {urlsplit(url).netloc}")
            full = url
        else:
            full = f"{self.base_url}/{url.lstrip('/')}"
        if params:
            query = urlencode({k: v for k, v in params.items() if v is not None}, safe=QUERY_SAFE, quote_via=quote)
            full = f"{full}{'&' if '?' in full else '?'}{query}"
        content = orjson.dumps(json) if json is not None else None
        all_headers = {"client-request-id": str(uuid.uuid4()), **(headers or {})}
        if content is not None:
            all_headers.setdefault("Content-Type", "application/json")
        return self.http.build_request(method, full, headers=all_headers, content=content)

    def route(self, url: httpx.URL) -> tuple[tuple[str, ...], dict[str, str]]:
        """(path segments after the API version, query options) of a Graph URL."""
        path = url.path[len(urlsplit(self.graph_url).path):]
        parts = tuple(p for p in path.split("/") if p)
        return parts[1:] if parts and parts[0] in ("v1.0", "beta") else parts, split_query(url.query.decode())

    def _attempt(self, request, route, to_charge, idempotent, attempt, *, own_units) -> Response | _Retry:
        segments, query = route
        charges = self._pace(to_charge)
        try:
            request.headers["Authorization"] = f"Bearer {self.tokens.token()}"
        except GraphError as exc:
            if not exc.transient:
                raise
            return _Retry(self.policy.backoff(attempt, self.rng), exc)
        started = time.perf_counter()
        try:
            response = self.http.send(request)
        except httpx.TransportError as exc:
            return self._transport_failure(request, segments, exc, idempotent, attempt, started)
        self._count(request, response, charges, started, own_units, segments, query)
        return self._interpret(request, segments, response, charges, idempotent, attempt)

    def _pace(self, to_charge) -> list[Charge]:
        if self.pacer is None:
            return []
        charges, wait = [], 0.0
        for method, segments, query in to_charge:
            charge, needed = self.pacer.charge(method, segments, query)
            charges.append(charge)
            wait = max(wait, needed)
        if wait > 0:
            self.stats.add(wait_seconds_pacing=wait)
            self.sleep(wait)
        return charges

    def _count(self, request, response, charges, started, own_units, segments, query) -> None:
        units = 0
        if own_units:  # a $batch counts its sub-requests itself
            actual = _int_header(response.headers, "x-ms-resource-unit")
            if charges and charges[0].resource_units:
                self.pacer.settle(charges[0], actual)
            units = actual if actual is not None else estimated_units(request.method, segments, query)
        self.stats.add(
            requests=1,
            resource_units=units,
            bytes_sent=len(request.content or b""),
            bytes_received=len(response.content),
            wait_seconds_network=time.perf_counter() - started,
        )

    def _interpret(self, request, segments, response, charges, idempotent, attempt) -> Response | _Retry:
        status = response.status_code
        if 200 <= status < 300:
            return self._success(request, segments, response, charges, idempotent, attempt)
        body = _parse_body(response, lenient=True)
        error = error_for(status, body, method=request.method, segments=segments,
                          request_id=response.headers.get("request-id"))
        if status == 401:
            return _Retry(0.0, error, unauthorized=True)
        if status in RETRY_STATUSES and (idempotent or status in (429, 503)):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            delay = self.policy.delay(attempt, retry_after, self.rng)
            if status == 429:
                if retry_after is None:  # e.g. Conditional Access (1 request/s, no Retry-After): never hammer
                    delay = max(delay, MIN_429_BACKOFF)
                self.stats.add(throttled_429=1)
                if self.pacer is not None:
                    for charge in charges:
                        self.pacer.throttled(charge, delay)
            else:
                self.stats.add(server_errors_5xx=1)
            return _Retry(delay, error)
        raise error

    def _success(self, request, segments, response, charges, idempotent, attempt) -> Response | _Retry:
        try:
            body = _parse_body(response, lenient=False)
        except ValueError:
            # A cut-off JSON body (dropped connection mid-stream) is transient for reads.
            self.stats.add(transport_errors=1)
            error = GraphUnavailableError(f"{request.method} /{'/'.join(segments)}: truncated or invalid JSON body")
            if not idempotent:
                error.hint = "The write was probably applied but its answer was cut off; re-read the object."
                raise error from None
            return _Retry(self.policy.backoff(attempt, self.rng), error)
        return Response(response.status_code, response.headers, body, charges)

    def _transport_failure(self, request, segments, exc, idempotent, attempt, started) -> _Retry:
        self.stats.add(transport_errors=1, wait_seconds_network=time.perf_counter() - started)
        what = f"{request.method} /{'/'.join(segments)}"
        host = request.url.host
        error = GraphUnavailableError(f"{what}: connection to {host} failed ({type(exc).__name__})")
        if not idempotent and not isinstance(exc, _NOT_SENT):
            error.hint = "The write may or may not have been applied; re-read the object before trying again."
            raise error from None
        return _Retry(self.policy.backoff(attempt, self.rng), error)

    def _wait_before_retry(self, method, segments, outcome: _Retry, attempt: int) -> None:
        logger.info(
            "Graph %s /%s: %s; retry %s of %s in %.2fs",
            method, "/".join(segments), outcome.error.message, attempt, self.policy.max_retries, outcome.delay,
        )
        self.stats.add(retries=1, wait_seconds_backoff=outcome.delay)
        if outcome.delay > 0:
            self.sleep(outcome.delay)


def _give_up(error: GraphError, tries: int) -> GraphError:
    if isinstance(error, ThrottledError):
        error.message = f"{error.message} (still throttled after {tries} tries)"
    elif isinstance(error, GraphUnavailableError):
        error.message = f"{error.message} (failed {tries} tries)"
    return error


def _parse_body(response: httpx.Response, *, lenient: bool) -> Any:
    content = response.content
    if not content:
        return None
    ctype = response.headers.get("content-type", "")
    if "json" not in ctype and not content.startswith((b"{", b"[")):
        return response.text
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        if lenient:
            return None
        raise ValueError("invalid JSON") from None


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
