"""Errors of the approvals app. Messages are safe to show to an operator."""


class ApprovalError(Exception):
    """A request that cannot be made, approved or denied; the message says why."""


class SelfApprovalError(ApprovalError):
    """The requester tried to approve (or deny) their own request."""


class NotAnAdministratorError(ApprovalError):
    """Only an administrator (of the request's tenant) may decide a request or change a switch."""


class RequestClosedError(ApprovalError):
    """The request was decided already, or it expired."""


class StaleRequestError(ApprovalError):
    """What the request acts on changed (or went) after it was made; an executor raises it too."""
