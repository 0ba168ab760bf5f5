"""The executors of approved actions, by action name (see approvals/gate.py for the contract)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from approvals.models import ApprovalRequest


@dataclass(frozen=True)
class Executor:
    run: Callable[[dict, ApprovalRequest], str]
    describe: Callable[[dict], Sequence[tuple[str, object]]] | None = None
    state: Callable[[dict], str] | None = None
    errors: tuple[type[Exception], ...] = field(default_factory=tuple)


_EXECUTORS: dict[tuple[str, str | None], Executor] = {}


def register(action: str, fn: Callable[[dict, ApprovalRequest], str], *, kind: str | None = None, describe=None,
             state=None, errors: tuple[type[Exception], ...] = ()) -> None:
    """Register the executor of `action` (see approvals/gate.py). Registering again replaces it.

    Several things can share one action (a job's retention and a log repository's): each registers with its
    own `kind`, and the requests carry that kind as `params["kind"]`.
    """
    _EXECUTORS[(action, kind)] = Executor(run=fn, describe=describe, state=state, errors=tuple(errors))


def executor_for(action: str, params: dict | None = None) -> Executor | None:
    """The executor of `action` for the request's `params["kind"]`, else the one registered without a kind."""
    kind = (params or {}).get("kind")
    return _EXECUTORS.get((action, kind)) or _EXECUTORS.get((action, None))
