"""Errors of the accounts app. Messages are safe to show to an operator."""


class AccountError(Exception):
    """A user name or an address that cannot be used; the message says why."""
