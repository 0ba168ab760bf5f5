"""Errors of the tenants app. Messages are safe to show: they never contain a secret."""


class TenantError(Exception):
    """Base class."""


class TenantValidationError(TenantError):
    """Registration data is invalid; the message says which value and why."""


class CredentialError(TenantError):
    """An uploaded certificate or key cannot be used (wrong password, no private key, unreadable file)."""


class TenantNotReadyError(TenantError):
    """The tenant cannot be used for a feature: permissions or licence missing, or it cannot be reached."""


class TenantNotFoundError(TenantError):
    """No tenant by that name (or id)."""
