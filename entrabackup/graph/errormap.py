"""Turn a failed Graph response into a typed error.

Error envelope and codes: https://learn.microsoft.com/graph/errors ;
delta expiry: https://learn.microsoft.com/graph/delta-query-overview (400 syncStateNotFound, 410 Gone).
"""

from __future__ import annotations

from .errors import (
    BadRequestError,
    ConflictError,
    DeltaExpiredError,
    GraphError,
    GraphUnavailableError,
    LicenceRequiredError,
    NotFoundError,
    PermissionDeniedError,
    ThrottledError,
    UnauthorizedError,
)
from .permissions import permission_for

_DELTA_CODES = {"syncstatenotfound", "resyncrequired", "syncstateinvalid"}
_LICENCE_CODES = {"authentication_requestfromnonpremiumtenantorb2ctenant"}


def error_details(body: object) -> tuple[str | None, str, str | None]:
    """(code, message, request id) from a Graph error body, tolerating non-JSON or odd shapes."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, "", None
    inner = error.get("innerError") or error.get("innererror") or {}
    request_id = inner.get("request-id") if isinstance(inner, dict) else None
    return error.get("code") or None, str(error.get("message") or ""), request_id


def error_for(status: int, body: object, *, method: str, segments: tuple[str, ...], request_id: str | None = None) -> GraphError:
    """The typed error for a non-success status that will not (or no longer) be retried."""
    code, message, body_request_id = error_details(body)
    request_id = request_id or body_request_id
    what = f"{method} /{'/'.join(segments)}"
    text = f"{what} failed: {message}" if message else f"{what} failed"
    kwargs = {"status": status, "code": code, "request_id": request_id}
    lowered = (code or "").lower()
    if status == 410 or (status == 400 and lowered in _DELTA_CODES):
        return DeltaExpiredError(f"{what}: the delta link expired or a full resync is required", **kwargs)
    if status == 401:
        return UnauthorizedError(text, **kwargs)
    if status == 403:
        return _forbidden(text, lowered, method, segments, kwargs)
    if status == 404:
        return NotFoundError(text, **kwargs)
    if status in (409, 412):
        return ConflictError(text, **kwargs)
    if status == 429:
        return ThrottledError(text, **kwargs)
    if status in (500, 502, 503, 504):
        return GraphUnavailableError(text, **kwargs)
    if status == 501:
        return BadRequestError(text, hint="Graph does not support this on a collection; read the object singly.", **kwargs)
    if 400 <= status < 500:
        return BadRequestError(text, **kwargs)
    return GraphError(text, **kwargs)


def _forbidden(text: str, code: str, method: str, segments: tuple[str, ...], kwargs: dict) -> GraphError:
    if code in _LICENCE_CODES:
        return LicenceRequiredError(text, **kwargs)
    return PermissionDeniedError(text, needed=permission_for(method, segments), **kwargs)
