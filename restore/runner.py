"""Running one restore session on a backup proxy, like a backup session (jobs/runner.py): claimed with a
conditional UPDATE, a heartbeat thread that also reads cancellation requests, live progress on the row.

Before the first write it reads production again and stops when an object the plan touches changed since the
plan was made (objects a previous, interrupted session of the same plan already wrote are not compared: their
change is ours). Then restore/apply.py writes the steps not yet done; every outcome lands in the session's
``RestoreWrite`` rows as it comes, so a session killed midway is resumed by applying the plan again.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.utils import timezone

from audittrail import events as audit
from audittrail.trail import record
from entrabackup import vault
from jobs.errors import failure_of
from jobs.runner import Heartbeat
from jobs.services import proxy_identity
from repositories.models import Repository
from repositories.services import repository_store
from restore import apply
from restore import plan as planner
from restore.models import RestoreSession, RestoreWrite
from restore.planning import PASSWORD_PURPOSE, password_generate
from restore.sessions import passwords_reveal, passwords_seal, restore_log
from tenants.services import tenant_graph_client, tenant_preflight

logger = logging.getLogger(__name__)
Status = RestoreSession.Status


class PlanOutdated(Exception):
    """Production changed since the plan was made: nothing is written."""


class SessionJournal:
    """The apply's journal on the session's rows (restore/apply.py ``Journal``)."""

    def __init__(self, session: RestoreSession):
        self.session = session
        self._passwords: dict[str, str] = {}

    def states(self) -> dict[str, str]:
        return dict(RestoreWrite.objects.filter(session=self.session).values_list("step", "status"))

    def id_map(self) -> dict[str, str]:
        return dict(RestoreSession.objects.values_list("id_map", flat=True).get(pk=self.session.pk))

    def mark_sent(self, step_ids: list[str]) -> None:
        RestoreWrite.objects.filter(session=self.session, step__in=step_ids).exclude(
            status__in=apply.FINISHED).update(status=RestoreWrite.Status.SENT)

    def record(self, step_id, status, detail="", *, http_status=None, new_id=None, extra_ids=None) -> None:
        RestoreWrite.objects.filter(session=self.session, step=step_id).update(
            status=status, detail=detail[:2000], http_status=http_status, new_id=new_id or "")
        if new_id:
            step = next(s for s in self.session.plan["steps"] if s["id"] == step_id)
            id_map = {**self.id_map(), step["object_id"]: new_id, **(extra_ids or {})}
            RestoreSession.objects.filter(pk=self.session.pk).update(id_map=id_map)

    def password(self, step: dict) -> str:
        """The given password (sealed in the plan) or a new one; sealed on the session before it is sent."""
        option = self.session.plan["options"]["password"]
        if option.get("mode") == "file":
            value = vault.unseal(option["sealed"], purpose=PASSWORD_PURPOSE, binding=self.session.plan["tenant"]["key"])
        else:
            value = password_generate()
        self._passwords[step["body"]["userPrincipalName"]] = value
        passwords_seal(self.session, self._passwords)
        return value


def restore_session_run(*, session_id: int) -> RestoreSession | None:
    """Claim the queued session and run it; None when another worker got it first."""
    now = timezone.now()
    claimed = RestoreSession.objects.filter(pk=session_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, proxy_name=proxy_identity())
    if not claimed:
        return None
    session = RestoreSession.objects.select_related("tenant", "resume_of").get(pk=session_id)
    restore_log(session.pk, f"Started on proxy {session.proxy_name}; reason: {session.reason}")
    heartbeat = Heartbeat(session.pk, model=RestoreSession)
    heartbeat.start()
    try:
        _run_guarded(session, heartbeat)
    finally:
        heartbeat.stop()
    session.refresh_from_db()
    return session


def _run_guarded(session: RestoreSession, heartbeat: Heartbeat) -> None:
    try:
        _run(session, heartbeat)
    except apply.ApplyCancelled:
        _finish(session, Status.CANCELLED, error=_summary(session, "Cancelled"))
    except PlanOutdated as exc:
        _finish(session, Status.FAILED, error=str(exc))
    except Exception as exc:  # every failure ends the session with its cause, and what was done so far
        failure = failure_of(exc)
        if failure.unexpected:
            logger.exception("Restore session %s failed", session.pk, extra={"session_id": session.pk})
        _finish(session, Status.FAILED, error=f"{failure.message} {_summary(session, 'Stopped')}")


def _run(session: RestoreSession, heartbeat: Heartbeat) -> None:
    plan = session.plan
    _carry_passwords(session)
    with tenant_graph_client(session.tenant) as client:
        tenant_preflight(tenant=session.tenant, features=["restore"], client=client)
        _check_again(session, client)
        journal = SessionJournal(session)
        outcome = apply.apply_plan(client, plan, journal, cancelled=lambda: heartbeat.cancel_requested,
                                   progress=lambda done, total: _progress(session, done, total, client),
                                   chunk=settings.RESTORE_CHUNK_WRITES)
        RestoreSession.objects.filter(pk=session.pk).update(graph_stats=client.stats.as_dict())
    restore_log(session.pk, f"Writes: {outcome.done} done, {outcome.skipped} skipped, {outcome.failed} failed, "
                            f"{outcome.not_done} not done; {outcome.requests} Graph requests.")
    if outcome.failed or outcome.not_done:
        _finish(session, Status.FAILED, error=_summary(session, "Partly applied") + " " + "; ".join(outcome.failures[:5]))
    else:
        _finish(session, Status.SUCCESS)


def _check_again(session: RestoreSession, client) -> None:
    """Stop when production differs from what the plan saw (objects already written by us excepted)."""
    plan = session.plan
    ours = set(RestoreWrite.objects.filter(session=session).exclude(status=RestoreWrite.Status.PENDING)
               .values_list("object_id", flat=True))
    # Relationships of objects we restored show those objects again: their change is ours too.
    touched = {f"{s['type']}/{s['object_id']}" for s in plan["steps"] if ours & set(s["refs"])}
    checks = {key: value for key, value in plan.get("checks", {}).items()
              if key.split("/", 1)[1] not in ours and key not in touched}
    if not checks:
        return
    point, key = plan["restore_point"], plan["tenant"]["key"]
    with repository_store(Repository.objects.get(pk=point["repository"])) as store:
        then = planner.restore_point_state(store, key, point["id"], planner.WRITABLE_TYPES)
        now = planner.production_state(store, key, point["id"], client, then)
    changed = [k for k, value in checks.items() if planner.state_digest(now, k) != value]
    if changed:
        names = [f"{k.split('/', 1)[0]} {plan.get('names', {}).get(k.split('/', 1)[1], k.split('/', 1)[1])}"
                 for k in changed[:5]]
        raise PlanOutdated(f"Production changed since the plan was made ({len(changed)} object(s), e.g. "
                           f"{', '.join(names)}); nothing was written. Make the plan again.")
    restore_log(session.pk, f"Production checked: the {len(checks)} objects the plan touches are as planned.")


def _carry_passwords(session: RestoreSession) -> None:
    """A resumed session shows the passwords of the users its predecessor created, too."""
    previous = session.resume_of
    if previous is None or not previous.sealed_passwords:
        return
    passwords_seal(session, passwords_reveal(session=previous))


def _progress(session: RestoreSession, done: int, total: int, client) -> None:
    RestoreSession.objects.filter(pk=session.pk).update(
        progress={"done": done, "total": total, "requests": client.stats.requests}, heartbeat_at=timezone.now())


def _summary(session: RestoreSession, verb: str) -> str:
    counts = dict.fromkeys(RestoreWrite.Status.values, 0)
    for status in RestoreWrite.objects.filter(session=session).values_list("status", flat=True):
        counts[status] += 1
    return (f"{verb}: {counts['done']} writes done, {counts['skipped']} skipped, {counts['failed']} failed, "
            f"{counts['pending'] + counts['not_done'] + counts['sent']} not done; apply the same plan again "
            "to resume.")


def _finish(session: RestoreSession, status: str, **fields) -> None:
    RestoreSession.objects.filter(pk=session.pk).update(status=status, ended_at=timezone.now(), **fields)
    audit.session_finished("restore", session, status, fields.get("error", ""))
    restore_log(session.pk, f"Finished: {Status(status).label}" + (f" - {fields['error']}" if fields.get("error") else ""))


def passwords_export(session: RestoreSession) -> str:
    """The new users' passwords as CSV text (once; see restore.sessions.passwords_reveal)."""
    rows = passwords_reveal(session=session)
    record("export.restore_passwords", target=f"restore session {session.pk}", tenant=session.tenant_id,
           detail={"users": len(rows)})
    return "userPrincipalName,password\n" + "".join(f"{json.dumps(u)},{json.dumps(p)}\n" for u, p in rows.items())
