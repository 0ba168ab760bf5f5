"""The operator roles: the one table of what each role may do (docs/access.md).

A role is a set of Django permissions ("app_label.codename"). `ALL` stands for every permission, so the
administrator role keeps up with permissions that other apps add. A new permission that an existing role
should hold is added to that role's set here, and nowhere else.
"""

from django.db import models

ALL = frozenset({"*"})

# Read only: the configuration, the sessions and the restore points; not the backed-up objects or logs.
VIEW = frozenset({
    "tenants.view_tenant",
    "jobs.view_backupjob", "jobs.view_backupsession", "jobs.view_logjob", "jobs.view_logsession", "jobs.view_proxy",
    "repositories.view_repository", "repositories.view_logrepository",
})

BACKUP = VIEW | {
    "tenants.test_connection",
    "jobs.add_backupjob", "jobs.change_backupjob", "jobs.delete_backupjob", "jobs.run_backup",
    "jobs.add_logjob", "jobs.change_logjob", "jobs.delete_logjob", "jobs.run_log_backup",
    "jobs.change_backupsession", "jobs.change_logsession",
}

RESTORE = VIEW | {
    "restore.browse_backups", "restore.explore_logs", "restore.run_restore",
    "restore.view_restoreplan", "restore.add_restoreplan", "restore.view_restoresession",
}

SECURITY = VIEW | {
    "accounts.view_user", "accounts.add_user", "accounts.change_user", "accounts.delete_user",
    "accounts.view_roleassignment", "accounts.add_roleassignment", "accounts.change_roleassignment",
    "accounts.delete_roleassignment",
    "tenants.change_credential",
    "axes.view_accessattempt", "axes.delete_accessattempt",
    "audittrail.view_entry",
}


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    SECURITY = "security", "Security administrator"
    BACKUP = "backup", "Backup operator"
    RESTORE = "restore", "Restore operator"
    VIEWER = "viewer", "Viewer"


PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMINISTRATOR: ALL,
    Role.SECURITY: frozenset(SECURITY),
    Role.BACKUP: frozenset(BACKUP),
    Role.RESTORE: frozenset(RESTORE),
    Role.VIEWER: VIEW,
}

DESCRIPTIONS = {
    Role.ADMINISTRATOR: "Everything.",
    Role.SECURITY: "Users, roles, tenant credentials and login lockouts; reads the rest.",
    Role.BACKUP: "Backup and log-backup jobs and their sessions; tests tenant connections; reads the rest.",
    Role.RESTORE: "Browses and compares backups, searches and exports logs, plans and applies restores.",
    Role.VIEWER: "Reads tenants, jobs, sessions, repositories and restore points; changes nothing.",
}


def role_grants(role: str, perm: str) -> bool:
    """Whether `role` holds the permission "app_label.codename"."""
    granted = PERMISSIONS.get(role, frozenset())
    return granted is ALL or perm in granted
