"""Where configuration changes meet access control, the audit trail and four-eyes approval.

The pages and commands that edit, disable and remove tenants, jobs and repositories call these three
names only: `allowed`, `record` and `gate`. They are the contracts of accounts/access.py (roles scoped to
tenants), audittrail/trail.py (the operator audit trail) and approvals/gate.py (four-eyes approval); an
installation without one of those apps keeps Django's own permission check, records nothing and needs no
approval.
"""

import logging

logger = logging.getLogger(__name__)

try:
    from audittrail.trail import record
except ImportError:  # the audit trail app is not installed
    def record(action, *, target="", tenant=None, result="ok", detail=None, request=None, user=None):
        logger.info("%s %s: %s", action, target, result)

try:
    from approvals.gate import gate, register
except ImportError:  # the approvals app is not installed: nothing waits for approval
    def gate(action, *, user, summary, params, tenant=None):
        return None

    def register(action, fn, **options):
        return None

try:
    from accounts import access as _access  # noqa: F401 - present when roles are scoped to tenants
    SCOPED = True
except ImportError:
    SCOPED = False


def allowed(user, perm: str, obj=None) -> bool:
    """Whether `user` holds `perm`, for the tenant of `obj` when roles are scoped to tenants.

    `obj` is a Tenant or anything with a `tenant`; repositories (shared by tenants) pass None.
    """
    if user is None:  # a management command run by the operator of the host
        return True
    if obj is not None and SCOPED:
        return user.has_perm(perm, obj)
    return user.has_perm(perm)
