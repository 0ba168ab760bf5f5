"""Four-eyes approval: the one call an action that may need a second administrator makes.

    request = gate("repository.delete", user=request.user, summary=f"Delete repository {repo.name}",
                   params={"repository": repo.pk}, tenant=None)
    if request is not None:
        ...  # show "waiting for approval" (request.pk); nothing was done
    else:
        ...  # four-eyes is off for this action: do it now

The app that owns an action registers, once (in its AppConfig.ready), the executor that runs it when a second
administrator approves:

    register("repository.delete", _delete_repository, kind="log_repository", describe=_describe, state=_state,
             errors=(RepositoryError,))

- `fn(params, approval) -> str` does the action with the params given to `gate` and returns what it did, in a
  sentence; it runs once, after approval, as the approver's decision (`approval.requested_by`,
  `approval.decided_by` say who asked and who approved). It raises StaleRequestError when its target changed.
- `describe(params) -> list[(label, value)]` shows the params to people (default: the keys, humanised).
- `state(params) -> str` digests the target's current state; asked when the request is made and again at
  approval: a different answer refuses the request as stale (default: no such check).
- `kind`: when several things share one action (deleting a directory repository or a log repository), each
  registers its own executor with a kind, and its `gate` call puts the same kind in `params["kind"]`.
- `errors`: exception classes whose messages are safe to show as the result (others show only their type).
"""

from approvals.models import Action, ApprovalRequest
from approvals.registry import register
from approvals.services import approval_request_create, switch_requires

__all__ = ["ACTIONS", "gate", "register"]
ACTIONS = tuple(Action.values)


def gate(action: str, *, user, summary: str, params: dict, tenant=None, size: int | None = None
         ) -> ApprovalRequest | None:
    """None when four-eyes approval is off for `action` (the caller goes ahead), else the pending request.

    `size` is the number of planned writes of a restore (`restore.apply_large`): below the switch's
    threshold the restore goes ahead. The same user asking the same thing again gets the same pending request.
    """
    if not switch_requires(action, size=size):
        return None
    return approval_request_create(action=action, user=user, summary=summary, params=params, tenant=tenant)
