"""Typed errors raised by the Graph client.

Every error carries safe text only: a short message, the HTTP status, the Graph error code, the request id
(for a support ticket) and a ``hint`` that tells an operator what to do. Secrets, tokens and assertions are
never put into an error; Graph's own error message is truncated and kept because it names the failing object.

Graph error envelope: https://learn.microsoft.com/graph/errors
"""

from __future__ import annotations

MAX_MESSAGE = 300


class GraphError(Exception):
    """Base class: a Graph or identity-platform call failed."""

    default_hint = "See the Graph request id in the logs."
    transient = False  # True when retrying later may succeed (the client retries those itself)

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = _clip(message)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.hint = hint or self.default_hint
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status}{', ' + self.code if self.code else ''})")
        parts.append(f"- {self.hint}")
        if self.request_id:
            parts.append(f"[request-id {self.request_id}]")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class AuthenticationError(GraphError):
    """Getting a token failed."""

    default_hint = "Check the tenant id, client id and credential of the app registration."


class InvalidCredentialError(AuthenticationError):
    """The client secret or certificate was refused (wrong, expired, or not registered on the app)."""

    default_hint = (
        "Create a new client secret or upload the certificate under Entra admin center > App registrations > "
        "<app> > Certificates & secrets, then update the tenant's credential here."
    )


class TenantNotFoundError(AuthenticationError):
    """The tenant id or domain does not exist in this cloud."""

    default_hint = (
        "Check the tenant id (Entra admin center > Overview > Tenant ID) and that the right cloud "
        "(global, US Government, China) is selected."
    )


class ApplicationNotFoundError(AuthenticationError):
    """The client id is not registered in this tenant."""

    default_hint = (
        "Check the Application (client) ID and that the app is registered in, or consented to, this tenant."
    )


class UnauthorizedError(GraphError):
    """Graph refused the access token itself (HTTP 401) even after a fresh token."""

    default_hint = (
        "Graph rejected the token: check that the authority and Graph URL belong to the same cloud "
        "and that the machine clock is correct."
    )


class GraphUnreachableError(GraphError):
    """No connection could be made (DNS, TCP, TLS) to the identity platform or Graph."""

    default_hint = (
        "Check network access, proxy and firewall rules, and the CA bundle if a custom cloud is used."
    )


class PermissionDeniedError(GraphError):
    """HTTP 403 Authorization_RequestDenied: the app lacks an application permission."""

    def __init__(self, message: str, *, needed: list[str] | None = None, **kwargs) -> None:
        self.needed = list(needed or [])
        if self.needed and "hint" not in kwargs:
            kwargs["hint"] = (
                f"Grant the application permission {' or '.join(self.needed)} under Entra admin center > "
                "App registrations > <app> > API permissions > Microsoft Graph > Application permissions, "
                "then 'Grant admin consent'."
            )
        super().__init__(message, **kwargs)

    default_hint = (
        "Grant the missing Microsoft Graph application permission and admin consent "
        "(Entra admin center > App registrations > <app> > API permissions)."
    )


class LicenceRequiredError(GraphError):
    """HTTP 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant."""

    default_hint = (
        "Sign-in logs (and signInActivity) need a Microsoft Entra ID P1 or P2 licence in the tenant; "
        "turn off sign-in log backup or license the tenant."
    )


class NotFoundError(GraphError):
    """HTTP 404: the object or endpoint does not exist."""

    default_hint = "The object may have been deleted; re-read the directory."


class BadRequestError(GraphError):
    """HTTP 400 (or 405, 409, 412, 501): Graph refused the request as written."""

    default_hint = "The request was refused as written; this is usually a bug, please report it with the code."


class ConflictError(BadRequestError):
    """HTTP 409 / 412: the object already exists or changed meanwhile."""

    default_hint = "The object already exists or changed meanwhile; re-read it and plan again."


class DeltaExpiredError(GraphError):
    """The saved delta link can no longer be used (400 syncStateNotFound / resyncRequired, 410 Gone)."""

    default_hint = "Run a full read; a new delta link is saved at its end."


class ThrottledError(GraphError):
    """Still throttled (HTTP 429) after all retries."""

    default_hint = (
        "Graph kept throttling this app in this tenant; lower concurrency or pacing limits, "
        "or run the job later."
    )


class GraphUnavailableError(GraphError):
    """Server errors, timeouts or dropped connections persisted after all retries."""

    transient = True

    default_hint = "Microsoft Graph is unavailable or the network is unstable; the job can be retried later."


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
