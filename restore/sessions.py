"""Restore sessions: queued for a backup proxy, resumed, cancelled, and their new users' passwords shown once.

The session row and its ``RestoreWrite`` rows are the journal the apply (restore/apply.py) reads and writes;
the proxy runs it in restore/runner.py.
"""

from __future__ import annotations

import functools
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django_q.tasks import async_task

from audittrail import events as audit
from audittrail.models import Entry
from audittrail.trail import record
from entrabackup import vault
from restore.errors import RestoreError
from restore.models import RestoreSession, RestoreWrite
from restore.planning import plan_check

ONE_ACTIVE = "one_active_restore_per_tenant"


class RestoreConflictError(RestoreError):
    """Another restore of the same tenant is queued or running."""


class RestorePermissionError(RestoreError):
    """The user may not restore (the restore permission is missing)."""


def _recorded(create):
    """Record every restore asked for in the audit trail (`restore.apply`), refused ones too."""

    @functools.wraps(create)
    def wrapper(*, tenant, plan: dict, reason: str, requested_by=None) -> RestoreSession:
        plan_id = plan.get("plan_id", "") if isinstance(plan, dict) else ""
        try:
            session = create(tenant=tenant, plan=plan, reason=reason, requested_by=requested_by)
        except RestoreError as exc:
            result = Entry.Result.DENIED if isinstance(exc, RestorePermissionError) else Entry.Result.FAILED
            record("restore.apply", target=f"plan {plan_id}", tenant=tenant, user=requested_by, result=result,
                   detail={"error": str(exc), "reason": reason})
            raise
        record("restore.apply", target=f"restore session {session.pk}", tenant=tenant, user=requested_by,
               detail={"plan_id": plan_id, "steps": len(plan["steps"]), "reason": reason,
                       "resumes": session.resume_of_id})
        return session

    return wrapper


@_recorded
def restore_session_create(*, tenant, plan: dict, reason: str, requested_by=None) -> RestoreSession:
    """Queue the apply of ``plan``; it resumes the newest unfinished session of the same plan, if any.

    ``reason`` is required. The plan must be for this tenant and unchanged since restore_plan made it."""
    plan = plan_check(plan)
    reason = (reason or "").strip()
    if not reason:
        raise RestoreError("A restore needs a reason (--reason): it is recorded with the session.")
    if requested_by is not None and not requested_by.has_perm("restore.run_restore"):
        raise RestorePermissionError(f"{requested_by.get_username()} may not restore (restore permission needed).")
    if plan["tenant"]["key"] != str(tenant.key):
        raise RestoreError(f"This plan is for tenant {plan['tenant']['name']}, not {tenant.name}.")
    sessions_interrupt_lost(tenant=tenant)
    previous = (RestoreSession.objects.filter(tenant=tenant, plan_id=plan["plan_id"])
                .exclude(status=RestoreSession.Status.SUCCESS).order_by("-pk").first())
    session = _create(tenant, plan, reason, requested_by, previous)
    transaction.on_commit(lambda: restore_session_enqueue(session))
    return session


@transaction.atomic
def _create(tenant, plan, reason, requested_by, previous) -> RestoreSession:
    try:
        with transaction.atomic():
            session = RestoreSession.objects.create(tenant=tenant, plan=plan, plan_id=plan["plan_id"], reason=reason,
                                                    requested_by=requested_by, resume_of=previous,
                                                    id_map=previous.id_map if previous else {})
    except IntegrityError as exc:
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) != ONE_ACTIVE:
            raise
        busy = RestoreSession.objects.filter(tenant=tenant, status__in=RestoreSession.ACTIVE).first()
        raise RestoreConflictError(f"Restore session {busy.pk if busy else '?'} of tenant {tenant.name} is "
                                   "queued or running; wait for it or cancel it.") from None
    done = {w.step: w for w in previous.writes.all()} if previous else {}
    RestoreWrite.objects.bulk_create([
        RestoreWrite(session=session, step=s["id"], position=i, op=s["op"], object_type=s["type"][:40],
                     object_id=s["object_id"][:64], name=str(s["name"])[:300],
                     status=done[s["id"]].status if s["id"] in done else RestoreWrite.Status.PENDING,
                     http_status=done[s["id"]].http_status if s["id"] in done else None,
                     detail=done[s["id"]].detail if s["id"] in done else "",
                     new_id=done[s["id"]].new_id if s["id"] in done else "")
        for i, s in enumerate(plan["steps"])], batch_size=2000)
    if previous is not None:
        restore_log(session.pk, f"Resumes session {previous.pk} ({previous.status}): "
                                f"{sum(1 for w in done.values() if w.status in ('done', 'skipped'))} steps already done.")
    return session


def restore_session_enqueue(session: RestoreSession) -> None:
    async_task("restore.tasks.run_restore_session", session.pk, task_name=f"restore-session-{session.pk}")


def sessions_interrupt_lost(*, tenant=None, now=None) -> list[int]:
    """Mark running sessions whose proxy stopped beating as interrupted (they can be resumed)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.SESSION_HEARTBEAT_TIMEOUT)
    lost = RestoreSession.objects.filter(status=RestoreSession.Status.RUNNING, heartbeat_at__lt=stale)
    if tenant is not None:
        lost = lost.filter(tenant=tenant)
    ids = list(lost.values_list("pk", flat=True))
    for pk in ids:
        if RestoreSession.objects.filter(pk=pk, status=RestoreSession.Status.RUNNING).update(
                status=RestoreSession.Status.INTERRUPTED, ended_at=now,
                error="The proxy running it stopped reporting; apply the same plan again to resume."):
            restore_log(pk, "Interrupted: its proxy stopped reporting.")
            audit.session_finished("restore", RestoreSession(pk=pk, tenant_id=_tenant_of(pk)),
                                   RestoreSession.Status.INTERRUPTED, "Its proxy stopped reporting.")
    return ids


def restore_session_cancel(*, session: RestoreSession, user=None) -> bool:
    """Ask the session to stop after the $batch it is sending; what was written stays recorded."""
    now = timezone.now()
    who = user.get_username() if user else "an operator"
    if RestoreSession.objects.filter(pk=session.pk, status=RestoreSession.Status.QUEUED).update(
            status=RestoreSession.Status.CANCELLED, ended_at=now, cancel_requested=True, cancelled_by=user,
            cancelled_at=now, error=f"Cancelled by {who} before it started; nothing was written."):
        restore_log(session.pk, f"Cancelled by {who} before it started.")
        audit.session_cancel_asked("restore", session, user, True)
        return True
    asked = RestoreSession.objects.filter(pk=session.pk, status=RestoreSession.Status.RUNNING).update(
        cancel_requested=True, cancelled_by=user, cancelled_at=now)
    if asked:
        restore_log(session.pk, f"Cancel requested by {user.get_username() if user else 'an operator'}.")
    audit.session_cancel_asked("restore", session, user, bool(asked))
    return bool(asked)


def restore_log(session_id: int, message: str) -> None:
    line = f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"
    RestoreSession.objects.filter(pk=session_id).update(log=Concat(F("log"), Value(line)))


def passwords_seal(session: RestoreSession, passwords: dict[str, str]) -> None:
    """Keep the new users' passwords sealed on the session until someone reveals them (once)."""
    session.sealed_passwords = vault.seal(json.dumps(passwords), purpose=_purpose(), binding=session.vault_binding())
    RestoreSession.objects.filter(pk=session.pk).update(sealed_passwords=session.sealed_passwords)


def passwords_reveal(*, session: RestoreSession) -> dict[str, str]:
    """The new users' passwords (userPrincipalName -> password), once: they are erased as they are read."""
    with transaction.atomic():
        row = RestoreSession.objects.select_for_update().get(pk=session.pk)
        if not row.sealed_passwords:
            return {}
        passwords = json.loads(vault.unseal(row.sealed_passwords, purpose=_purpose(), binding=row.vault_binding()))
        RestoreSession.objects.filter(pk=row.pk).update(sealed_passwords="", passwords_shown_at=timezone.now())
    return passwords


def _tenant_of(session_id: int) -> int | None:
    return RestoreSession.objects.filter(pk=session_id).values_list("tenant_id", flat=True).first()


def _purpose() -> str:
    return vault.purpose_of(RestoreSession, "sealed_passwords")
