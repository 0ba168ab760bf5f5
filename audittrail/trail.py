"""Recording operator actions in the audit trail: `record(action, ...)`.

Who acted is taken from what is running: the request of the current page (set by `audittrail.middleware`),
the management command (set by `entrabackup.management.base.ProductCommand`), or else the system itself (a
backup proxy's task, the scheduler). Call `record` where the action happens, in the transaction that makes
it: the entry then exists exactly when the action committed. A failure is recorded where it is caught,
outside the transaction that rolled back.

Actions are dotted names, `<noun>.<verb>`: `tenant.update`, `session.cancel`, `restore.apply`,
`export.logs`. `detail` is JSON; any key that looks like a secret keeps its name but not its value.
"""

import contextlib
import contextvars
import getpass
import math
import os
import re
import socket
from dataclasses import dataclass

from django.apps import apps
from django.http import HttpRequest

from accounts.services import login_client_address
from audittrail import chain
from audittrail.models import Entry

REDACTED = "[not recorded]"
# A key naming any of these holds (or may hold) a secret: its value never reaches the trail.
SECRET_KEY_NAME = re.compile(r"pass|secret|token|credential|private|key|sealed|authori[sz]ation|cookie|otp|pem|"
                             r"signature|salt|hash", re.IGNORECASE)
MAX_TEXT = 1000
MAX_DEPTH = 6
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Context:
    """What the running code acts for: a page's request, or a management command on a host."""

    request: HttpRequest | None = None
    command: str = ""
    os_user: str = ""
    host: str = ""


_context: contextvars.ContextVar[Context | None] = contextvars.ContextVar("audittrail_context", default=None)


@contextlib.contextmanager
def acting(context: Context):
    """Attribute what `record` records inside this block to `context`."""
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


def command_context(command: str) -> Context:
    """The context of a management command: its name, the OS user running it and the host."""
    return Context(command=command, os_user=_os_user(), host=socket.gethostname())


def record(action: str, *, target: str = "", tenant=None, result: str = Entry.Result.OK, detail: dict | None = None,
           request: HttpRequest | None = None, user=None) -> Entry:
    """Append an entry for `action` to the audit trail and return it.

    `tenant` is a Tenant (or its id), `target` names what was acted on ("job 'nightly' (12)"), `result` is
    one of Entry.Result (ok, failed, denied, pending). Without `request` and `user`, the actor is the
    current request's user, else the running command, else the system.
    """
    context = _context.get() or Context()
    request = request or context.request
    user = user or _request_user(request)
    values = {
        "actor": _actor(request, user, context), "action": _text(action, 64),
        "target": _text(target, 300), "result": _text(result, 20), "detail": clean_detail(detail or {}),
        "user_id": user.pk if user is not None else None, "username": _text(user.get_username() if user else "", 150),
        "command": _text(context.command, 100), "os_user": _text(context.os_user, 100),
        "host": _text(context.host or ("" if request else socket.gethostname()), 200),
        **_tenant_values(tenant), **_request_values(request),
    }
    return chain.append(values)


def clean_detail(value, depth: int = 0):
    """`value` as JSON the trail can keep and hash the same way after a round trip through PostgreSQL.

    Secret-looking keys lose their value, long texts are cut, NUL and lone surrogates (which PostgreSQL
    refuses) go, and floats that jsonb would rewrite (1e+16, NaN) become text.
    """
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return "…"
        return {_text(str(key), 200): REDACTED if SECRET_KEY_NAME.search(str(key)) else clean_detail(item, depth + 1)
                for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return "…" if depth >= MAX_DEPTH else [clean_detail(item, depth + 1) for item in list(value)[:200]]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) and "e" not in repr(value) else repr(value)
    return _text(str(value), MAX_TEXT, keep_newlines=True)


def _text(value: str, limit: int, keep_newlines: bool = False) -> str:
    value = value.encode("utf-8", "replace").decode("utf-8")
    value = value.replace("\x00", "") if keep_newlines else _CONTROL.sub("", value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _request_user(request: HttpRequest | None):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _actor(request, user, context: Context) -> str:
    if context.command:
        return Entry.Actor.COMMAND
    if request is not None or user is not None:
        return Entry.Actor.USER
    return Entry.Actor.SYSTEM


def _tenant_values(tenant) -> dict:
    if tenant is None:
        return {"tenant_id": None, "tenant_name": ""}
    if isinstance(tenant, int):
        name = apps.get_model("tenants", "Tenant").objects.filter(pk=tenant).values_list("name", flat=True).first()
        return {"tenant_id": tenant, "tenant_name": _text(name or "", 100)}
    return {"tenant_id": tenant.pk, "tenant_name": _text(str(tenant), 100)}


def _request_values(request: HttpRequest | None) -> dict:
    if request is None:
        return {"ip": "", "user_agent": ""}
    return {"ip": _text(login_client_address(request) or "", 45),
            "user_agent": _text(request.META.get("HTTP_USER_AGENT", ""), 300)}


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (a container), and no LOGNAME/USER set
        return f"uid {os.getuid()}"
