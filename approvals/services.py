"""Four-eyes approval: requests, decisions, the executors' single run, and the switches per action.

The rules live here, not in the pages: the commands and every caller of `gate` go through the same checks.
"""

import hashlib
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from approvals.errors import (
    ApprovalError,
    NotAnAdministratorError,
    RequestClosedError,
    SelfApprovalError,
    StaleRequestError,
)
from approvals.models import SWITCH_CHANGE, Action, ApprovalRequest, ApprovalSwitch
from approvals.registry import executor_for, register
from approvals.selectors import is_administrator
from audittrail.trail import record

logger = logging.getLogger(__name__)
Status = ApprovalRequest.Status
# The audit trail's result (audittrail Entry.Result) of an approved action's run.
_EXECUTED = {Status.DONE: "ok", Status.FAILED: "failed", Status.STALE: "denied"}
SUMMARY_MAX = 500


# -- switches -------------------------------------------------------------------------------------------------

def switch_for(action: str) -> ApprovalSwitch:
    """The switch row of `action` (created off on first use); ApprovalError for an unknown action."""
    if action not in Action.values:
        raise ApprovalError(f"Unknown action {action!r}; four-eyes approval exists for {', '.join(Action.values)}.")
    switch, _ = ApprovalSwitch.objects.get_or_create(action=action)
    return switch


def switch_requires(action: str, *, size: int | None = None) -> bool:
    """Whether `action` (of `size` planned writes, for a restore) must wait for a second administrator."""
    switch = switch_for(action)
    if not switch.enabled:
        return False
    if action == Action.RESTORE_APPLY_LARGE and size is not None:
        return size >= (switch.min_writes or 0)
    return True


def switch_set(*, action: str, enabled: bool, min_writes: int | None = None, user) -> ApprovalRequest | None:
    """Change a switch. Turning on, or asking for approval of smaller restores, applies at once (None);
    turning off a switch that is on, or raising its restore size, waits for a second administrator (the request).
    """
    _require_administrator(user, None)
    if min_writes is not None and min_writes < 0:
        raise ApprovalError("The size of a large restore is a number of writes, 0 or more.")
    switch = switch_for(action)
    if _weakens(switch, enabled, min_writes):
        label = dict(Action.choices)[action]
        summary = (f"Turn four-eyes approval off for: {label}" if not enabled else
                   f"Ask approval only for restores of {min_writes} writes or more (was {switch.min_writes or 0})")
        return approval_request_create(action=SWITCH_CHANGE, user=user, summary=summary,
                                       params={"action": action, "enabled": enabled, "min_writes": min_writes})
    _switch_apply(switch, enabled=enabled, min_writes=min_writes, user=user)
    return None


def _weakens(switch: ApprovalSwitch, enabled: bool, min_writes: int | None) -> bool:
    if not switch.enabled:
        return False
    if not enabled:
        return True
    return switch.action == Action.RESTORE_APPLY_LARGE and (min_writes or 0) > (switch.min_writes or 0)


def _switch_apply(switch: ApprovalSwitch, *, enabled: bool, min_writes: int | None, user) -> str:
    before = {"enabled": switch.enabled, "min_writes": switch.min_writes}
    switch.enabled = enabled
    if switch.action == Action.RESTORE_APPLY_LARGE:
        switch.min_writes = min_writes
    switch.updated_by = user
    switch.save()
    after = {"enabled": switch.enabled, "min_writes": switch.min_writes}
    record("approval.switch", target=switch.action, user=user, detail={"before": before, "after": after})
    return f"Four-eyes approval for '{switch.get_action_display()}' is now {_switch_words(switch)}."


def _switch_words(switch: ApprovalSwitch) -> str:
    if not switch.enabled:
        return "off"
    if switch.action == Action.RESTORE_APPLY_LARGE:
        return f"on from {switch.min_writes or 0} planned writes"
    return "on"


def _switch_change_run(params: dict, approval: ApprovalRequest) -> str:
    switch = switch_for(params["action"])
    return _switch_apply(switch, enabled=params["enabled"], min_writes=params.get("min_writes"),
                         user=approval.decided_by)


def _switch_state(params: dict) -> str:
    switch = switch_for(params["action"])
    return state_digest(switch.enabled, switch.min_writes)


def _switch_describe(params: dict) -> list[tuple[str, object]]:
    rows = [("Action", dict(Action.choices).get(params.get("action"), params.get("action"))),
            ("Four-eyes approval", "on" if params.get("enabled") else "off")]
    if params.get("enabled"):
        rows.append(("Only for restores of at least", f"{params.get('min_writes') or 0} writes"))
    return rows


register(SWITCH_CHANGE, _switch_change_run, describe=_switch_describe, state=_switch_state)


# -- requests -------------------------------------------------------------------------------------------------

def state_digest(*parts) -> str:
    """A short digest of a target's state, for an executor's `state` callable."""
    text = json.dumps(parts, cls=DjangoJSONEncoder, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def approval_request_create(*, action: str, user, summary: str, params: dict, tenant=None) -> ApprovalRequest:
    """A pending request (or the same user's identical pending one); the action runs once it is approved."""
    executor = executor_for(action, params)
    if executor is None:
        raise ApprovalError(f"Nothing can run {action!r} once approved (no executor is registered).")
    if user is None or not user.is_authenticated:
        raise ApprovalError("A request needs the user who asks for it.")
    params = json.loads(json.dumps(params, cls=DjangoJSONEncoder))  # as the executor will read them back
    same = ApprovalRequest.objects.filter(action=action, requested_by=user, status=Status.PENDING, params=params,
                                          expires_at__gt=timezone.now()).first()
    if same is not None:
        return same
    request = ApprovalRequest.objects.create(
        action=action, summary=(summary or action)[:SUMMARY_MAX], params=params, tenant=tenant, requested_by=user,
        target_state=executor.state(params) if executor.state else "",
        expires_at=timezone.now() + timedelta(hours=settings.APPROVAL_EXPIRY_HOURS))
    record("approval.request", target=_target(request), tenant=tenant, user=user, result="pending",
           detail=_detail(request))
    return request


def approvals_expire(*, now=None) -> int:
    """Mark pending requests past their time as expired; how many were."""
    now = now or timezone.now()
    expired = list(ApprovalRequest.objects.filter(status=Status.PENDING, expires_at__lte=now))
    for request in expired:
        if ApprovalRequest.objects.filter(pk=request.pk, status=Status.PENDING).update(
                status=Status.EXPIRED, finished_at=now):
            record("approval.expire", target=_target(request), tenant=request.tenant, result="cancelled",
                   user=request.requested_by, detail=_detail(request))
    return len(expired)


def approval_approve(*, approval_id: int, user, note: str = "") -> ApprovalRequest:
    """Approve and run the request's action once; returns the request with its result.

    Refused (ApprovalError) for the requester, a user who is not an administrator of its tenant, a request
    already decided or expired, or a stale one (its target changed since it was made).
    """
    approvals_expire()
    try:
        approval, refusal = _claim(approval_id, user, note)
    except ApprovalError as exc:  # the requester, a user who is not an administrator, a closed request
        record("approval.grant", target=f"approval:{approval_id}", user=user, result="denied",
               detail={"reason": str(exc)})
        raise
    if refusal is not None:
        record("approval.grant", target=_target(approval), tenant=approval.tenant, user=user, result="denied",
               detail={**_detail(approval), "reason": str(refusal)})
        raise refusal
    record("approval.grant", target=_target(approval), tenant=approval.tenant, user=user, detail=_detail(approval))
    return _execute(approval)


@transaction.atomic
def _claim(approval_id: int, user, note: str) -> tuple[ApprovalRequest, ApprovalError | None]:
    """Take the request for running under a row lock, so two approvals cannot both run it."""
    approval = _decidable(approval_id, user)
    executor = executor_for(approval.action, approval.params)
    now = timezone.now()
    if executor is None:
        raise ApprovalError(f"Nothing can run {approval.action!r} (its executor is not registered).")
    if executor.state and executor.state(approval.params) != approval.target_state:
        _close(approval, Status.STALE, user, note, now, "What this request acts on changed after it was made; "
                                                          "ask again if it is still wanted.")
        return approval, StaleRequestError(f"Request {approval.pk} is stale: {approval.result}")
    approval.status, approval.decided_by, approval.decided_at, approval.note = Status.RUNNING, user, now, note
    approval.save(update_fields=["status", "decided_by", "decided_at", "note"])
    return approval, None


def _decidable(approval_id: int, user) -> ApprovalRequest:
    approval = ApprovalRequest.objects.select_for_update().filter(pk=approval_id).first()
    if approval is None:
        raise ApprovalError(f"No approval request {approval_id}.")
    _require_administrator(user, approval.tenant)
    if approval.requested_by_id == user.pk:
        raise SelfApprovalError(f"Request {approval.pk} is yours: another administrator must decide it.")
    if approval.status == Status.EXPIRED or approval.is_open and approval.expires_at <= timezone.now():
        raise RequestClosedError(f"Request {approval.pk} expired at {approval.expires_at:%Y-%m-%d %H:%M %Z}; "
                                 "ask again if it is still wanted.")
    if approval.status != Status.PENDING:
        raise RequestClosedError(f"Request {approval.pk} is {approval.get_status_display().lower()} already.")
    return approval


def _close(approval, status, user, note, now, result) -> None:
    approval.status, approval.decided_by, approval.decided_at = status, user, now
    approval.note, approval.result, approval.finished_at = note, result, now
    approval.save(update_fields=["status", "decided_by", "decided_at", "note", "result", "finished_at"])


def _execute(approval: ApprovalRequest) -> ApprovalRequest:
    """Run the executor (outside the claim's transaction: it may enqueue work or reach other databases)."""
    executor = executor_for(approval.action, approval.params)
    try:
        result, status = executor.run(approval.params, approval) or "Done.", Status.DONE
    except StaleRequestError as exc:
        result, status = str(exc), Status.STALE
    except (ApprovalError, *executor.errors) as exc:
        result, status = str(exc), Status.FAILED
    except Exception as exc:  # noqa: BLE001 - recorded on the request; the message may hold anything
        logger.exception("The approved action %s of request %s failed", approval.action, approval.pk)
        result, status = f"The action failed ({type(exc).__name__}); the server log has the details.", Status.FAILED
    ApprovalRequest.objects.filter(pk=approval.pk).update(status=status, result=result[:5000],
                                                          finished_at=timezone.now())
    approval.refresh_from_db()
    record("approval.execute", target=_target(approval), tenant=approval.tenant, user=approval.decided_by,
           result=_EXECUTED[status], detail={**_detail(approval), "result": approval.result})
    return approval


def approval_deny(*, approval_id: int, user, note: str = "") -> ApprovalRequest:
    """Deny a pending request (another administrator; the requester withdraws their own instead)."""
    approvals_expire()
    with transaction.atomic():
        approval = _decidable(approval_id, user)
        _close(approval, Status.DENIED, user, note, timezone.now(), "Denied; nothing was done.")
    record("approval.deny", target=_target(approval), tenant=approval.tenant, user=user, result="denied",
           detail={**_detail(approval), "note": note})
    return approval


@transaction.atomic
def approval_withdraw(*, approval_id: int, user) -> ApprovalRequest:
    """The requester takes back their own pending request."""
    approval = ApprovalRequest.objects.select_for_update().filter(pk=approval_id, requested_by=user).first()
    if approval is None:
        raise ApprovalError(f"You have no approval request {approval_id}.")
    if approval.status != Status.PENDING:
        raise RequestClosedError(f"Request {approval.pk} is {approval.get_status_display().lower()} already.")
    _close(approval, Status.WITHDRAWN, None, "", timezone.now(), "Withdrawn by the requester; nothing was done.")
    record("approval.withdraw", target=_target(approval), tenant=approval.tenant, user=user, result="cancelled",
           detail=_detail(approval))
    return approval


def _require_administrator(user, tenant) -> None:
    if not is_administrator(user, tenant):
        who = user.get_username() if user is not None and user.is_authenticated else "An anonymous user"
        scope = f" of tenant {tenant.name}" if tenant is not None else ""
        raise NotAnAdministratorError(f"{who} is not an administrator{scope}: only an administrator may decide "
                                      "four-eyes requests or change their switches.")


def _target(approval: ApprovalRequest) -> str:
    return f"approval:{approval.pk}"


def _detail(approval: ApprovalRequest) -> dict:
    return {"action": approval.action, "summary": approval.summary, "params": approval.params,
            "requested_by": approval.requested_by.get_username()}


def params_described(approval: ApprovalRequest) -> list[tuple[str, str]]:
    """The request's params for people: the executor's own wording, or the keys humanised."""
    executor = executor_for(approval.action, approval.params)
    if executor is not None and executor.describe is not None:
        try:
            return [(str(label), str(value)) for label, value in executor.describe(approval.params)]
        except Exception:  # noqa: BLE001 - a target gone since the request still shows its raw params
            logger.warning("Cannot describe the params of request %s", approval.pk, exc_info=True)
    return [(key.replace("_", " ").capitalize(), _plain(value)) for key, value in approval.params.items()]


def _plain(value) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return "-" if value is None else str(value)


def command_user(username: str | None = None, *, required: bool = True):
    """Who a management command acts as: `--as USERNAME`, else the local administrator (the first superuser);
    with `required=False`, None when there is no administrator."""
    users = get_user_model().objects.filter(is_active=True)
    if username:
        user = users.filter(username=username).first()
        if user is None:
            raise ApprovalError(f"--as: no active user named {username!r}.")
        return user
    user = users.filter(is_superuser=True).order_by("pk").first()
    if user is None and required:
        raise ApprovalError("No local administrator exists: create one with `manage.py admin_ensure`.")
    return user
