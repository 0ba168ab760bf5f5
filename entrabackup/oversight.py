"""Where configuration changes meet the audit trail and four-eyes approval.

The services that edit, disable and remove tenants, jobs and repositories call `record` (audittrail/trail.py)
and `gate` / `register` (the contract of approvals/gate.py). Until the approvals app is installed nothing
waits for approval.
"""

from audittrail.trail import record

__all__ = ["gate", "record", "register"]

try:
    from approvals.gate import gate, register
except ImportError:  # the approvals app is not installed: nothing waits for approval
    def gate(action, *, user, summary, params, tenant=None):
        return None

    def register(action, fn, **options):
        return None
