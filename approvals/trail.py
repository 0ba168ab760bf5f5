"""Until the operator audit trail (audittrail/trail.py) is merged: its `record` contract, written to the log."""

import logging

logger = logging.getLogger("approvals.trail")


def record(action: str, *, target: str = "", tenant=None, result: str = "ok", detail=None, request=None,
           user=None) -> None:
    logger.info("%s %s by %s: %s", action, target, user.get_username() if user else "-", result)
