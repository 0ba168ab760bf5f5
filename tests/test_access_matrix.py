"""Every URL of the product, requested as each role limited to tenant A, as a user of tenant B only, as the
local administrator and anonymously: each answers the status designed for it (docs/access.md), and no page
shown to a user of one tenant holds the other tenant's name, ids or objects.

The URLs are read from the URLconf: a new URL fails `test_every_url_has_a_row` until its row is added to
EXPECTED. A row is the designed answer of each column (COLUMNS), as one string of status codes:
  302 anonymous: to the login page;  403 the user's roles do not allow the page at all;
  404 the object belongs to a tenant outside the user's scope (or does not exist for anyone);
  286 an HTMX poll of a finished session; 400 a page allowed but asked nothing it can answer (no records
  ticked); 405 the method is not the page's.
A row written before the "mixed" column was added (one code fewer) is not asked as that user; give it the
ninth code (what a viewer of A who acts only on B gets: a page acting on A is a 404 for them).
Rows "name [htmx]" request the URL again as an HTMX fragment. ARGS says which object of tenant A a URL
names; METHODS which URLs are POSTs (sent with no form data, so nothing is changed).
"""

import fnmatch
import logging
import re
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.services import role_assign
from approvals.models import ApprovalRequest
from entrabackup import graph
from jobs.models import BackupSession, LogJob, LogSession, Proxy
from jobs.services import job_create
from repositories.models import LogRepository
from repositories.services import repository_default, repository_store
from repositories.store.tests.helpers import user as stored_user
from restore import plan as planner
from restore.models import RestorePlan, RestoreSession
from tenants.services import tenant_create

COLUMNS = ("anonymous", "viewer", "backup", "restore", "security", "administrator", "other", "root", "mixed")
# Every role above is limited to tenant A; "other" is an administrator limited to tenant B; "root" the superuser;
# "mixed" a viewer of A who is a backup and restore operator of B only: A's pages that act need the action's
# permission on A itself (404 there), not merely somewhere.
A_ROLES = ("viewer", "backup", "restore", "security", "administrator")
A_NAME = 'Contoso <i onmouseover="alert(1)">QWA-A</i> & co'
B_NAME = 'Fabrikam <script>alert("B")</script> ZQX-B'

EXPECTED = {
    # name                                      anon viewer backup restore security admin other root mixed
    "dashboard":                                "302 200 200 200 200 200 200 200 200",
    "healthz":                                  "200 200 200 200 200 200 200 200 200",
    "accounts:login":                           "200 302 302 302 302 302 302 302 302",
    "accounts:logout":                          "302 405 405 405 405 405 405 405 405",
    # The code step of the login (none is due here: back to the login), the user's own password and second
    # factor; resetting another user's second factor changes users: an assignment to all tenants only.
    "accounts:login_code":                      "302 302 302 302 302 302 302 302 302",
    "accounts:password_change":                 "302 200 200 200 200 200 200 200 200",
    "accounts:password_change_done":            "302 200 200 200 200 200 200 200 200",
    "accounts:second_factor":                   "302 200 200 200 200 200 200 200 200",
    "accounts:second_factor_confirm":           "302 302 302 302 302 302 302 302 302",
    "accounts:second_factor_remove":            "302 302 302 302 302 302 302 302 302",
    "accounts:second_factor_reset":             "302 403 403 403 403 403 403 302 403",
    # Approvals: everyone lists their own requests; tenant A's request (asked by its restore operator) is
    # seen by the requester and A's administrators only; the service refuses whoever may not decide.
    "approvals:approval_list":                  "302 200 200 200 200 200 200 200 200",
    "approvals:switch_list":                    "302 200 200 200 200 200 200 200 200",
    "approvals:approval_detail":                "302 404 404 200 404 200 404 200 404",
    "approvals:approval_approve":               "302 404 404 302 404 302 404 302 404",
    "approvals:approval_deny":                  "302 404 404 302 404 302 404 302 404",
    "approvals:approval_withdraw":              "302 302 302 302 302 302 302 302 302",
    "tenants:tenant_list":                      "302 200 200 200 200 200 200 200 200",
    "tenants:tenant_list [htmx]":               "302 200 200 200 200 200 200 200 200",
    "tenants:tenant_add":                       "302 403 403 403 403 403 403 200 403",
    "tenants:tenant_detail":                    "302 200 200 200 200 200 404 200 200",
    "tenants:tenant_check":                     "302 403 200 403 403 200 404 200 404",
    "tenants:tenant_credential":                "302 403 403 403 200 200 404 200 403",
    "tenants:tenant_connection":                "302 403 403 403 403 200 404 200 403",
    "tenants:tenant_certificate":               "302 200 200 200 200 200 404 200 200",
    "tenants:tenant_edit":                      "302 403 403 403 403 200 404 200 403",
    "tenants:tenant_clone":                     "302 403 403 403 403 403 403 200 403",
    "tenants:tenant_remove":                    "302 403 403 403 403 200 404 200 403",
    "repositories:repository_list":             "302 200 200 200 200 200 200 200 200",
    "repositories:repository_list [htmx]":      "302 200 200 200 200 200 200 200 200",
    "repositories:repository_add":              "302 403 403 403 403 403 403 200 403",
    "repositories:repository_connection":       "302 403 403 403 403 403 403 200 403",
    "repositories:repository_check":            "302 403 403 403 403 403 403 302 403",
    "repositories:log_repository_add":          "302 403 403 403 403 403 403 200 403",
    "repositories:log_repository_check":        "302 403 403 403 403 403 403 302 403",
    "repositories:repository_edit":             "302 403 403 403 403 403 403 200 403",
    "repositories:repository_remove":           "302 403 403 403 403 403 403 200 403",
    "repositories:log_repository_edit":         "302 403 403 403 403 403 403 200 403",
    "repositories:log_repository_remove":       "302 403 403 403 403 403 403 200 403",
    "jobs:job_list":                            "302 200 200 200 200 200 200 200 200",
    "jobs:job_list [htmx]":                     "302 200 200 200 200 200 200 200 200",
    "jobs:job_add":                             "302 403 200 403 403 200 200 200 200",
    "jobs:job_run":                             "302 403 302 403 403 302 404 302 404",
    "jobs:job_edit":                            "302 403 200 403 403 200 404 200 404",
    "jobs:job_remove":                          "302 403 200 403 403 200 404 200 404",
    "jobs:log_job_edit":                        "302 403 200 403 403 200 404 200 404",
    "jobs:log_job_remove":                      "302 403 200 403 403 200 404 200 404",
    "jobs:session_list":                        "302 200 200 200 200 200 200 200 200",
    "jobs:session_detail":                      "302 200 200 200 200 200 404 200 200",
    "jobs:session_detail [htmx]":               "302 286 286 286 286 286 404 286 286",
    "jobs:session_cancel":                      "302 403 302 403 403 302 404 302 404",
    # The Sessions page's actions (a confirmation page here: a GET changes nothing), for those who may act on A.
    "jobs:session_action":                      "302 403 200 403 403 200 404 200 404",
    "jobs:log_list":                            "302 200 200 200 200 200 200 200 200",
    "jobs:log_list [htmx]":                     "302 200 200 200 200 200 200 200 200",
    "jobs:log_session_detail":                  "302 200 200 200 200 200 404 200 200",
    "jobs:log_session_detail [htmx]":           "302 286 286 286 286 286 404 286 286",
    "restore:restore_index":                    "302 200 200 200 200 200 200 200 200",
    "restore:restore_index [htmx]":             "302 200 200 200 200 200 200 200 200",
    "restore:restore_point_list":               "302 200 200 200 200 200 404 200 200",
    "restore:restore_point_list [htmx]":        "302 200 200 200 200 200 404 200 200",
    "restore:object_explorer":                  "302 403 403 200 403 200 404 200 404",
    "restore:object_explorer [htmx]":           "302 403 403 200 403 200 404 200 404",
    "restore:object_detail":                    "302 403 403 200 403 200 404 200 404",
    "restore:compare_view":                     "302 403 403 200 403 200 404 200 404",
    "restore:compare_view [htmx]":              "302 403 403 200 403 200 404 200 404",
    "restore:compare_export":                   "302 403 403 200 403 200 404 200 404",
    "restore:log_index":                        "302 403 403 200 403 200 200 200 200",
    "restore:log_index [htmx]":                 "302 403 403 200 403 200 200 200 200",
    "restore:log_explorer":                     "302 403 403 200 403 200 404 200 404",
    "restore:log_explorer [htmx]":              "302 403 403 200 403 200 404 200 404",
    "restore:log_record_detail":                "302 403 403 400 403 400 404 400 404",
    "restore:log_export":                       "302 403 403 200 403 200 404 200 404",
    "restore:log_revert":                       "302 403 403 400 403 400 404 400 404",
    "restore:plan_create":                      "302 403 403 200 403 200 404 200 404",
    "restore:plan_from_audit":                  "302 403 403 400 403 400 404 400 404",
    "restore:plan_detail":                      "302 403 403 200 403 200 404 200 404",
    "restore:restore_session_detail":           "302 403 403 200 403 200 404 200 404",
    "restore:restore_session_detail [htmx]":    "302 403 403 286 403 286 404 286 404",
    "restore:restore_session_cancel":           "302 403 403 302 403 302 404 302 404",
    "restore:restore_session_passwords":        "302 403 403 302 403 302 404 302 404",
    # The admin: only administrators and security administrators are staff; the others are sent to its
    # login page. A tenant's object outside the user's scope "does not exist" there: a redirect to the index.
    "admin:index":                              "302 302 302 302 200 200 200 200 302",
    "admin:login":                              "200 200 200 200 302 302 302 302 200",
    "admin:logout":                             "302 302 302 302 405 405 405 405 302",
    "admin:password_change":                    "302 302 302 302 200 200 200 200 302",
    "admin:password_change_done":               "302 302 302 302 200 200 200 200 302",
    "admin:autocomplete":                       "302 302 302 302 403 403 403 403 302",
    "admin:jsi18n":                             "302 302 302 302 200 200 200 200 302",
    "admin:view_on_site":                       "302 302 302 302 404 404 404 404 302",
    "admin:app_list":                           "302 302 302 302 200 200 200 200 302",
    "admin:tenants_tenant_changelist":          "302 302 302 302 200 200 200 200 302",
    "admin:tenants_tenant_add":                 "302 302 302 302 403 403 403 403 302",
    "admin:tenants_tenant_change":              "302 302 302 302 200 200 302 200 302",
    "admin:tenants_tenant_history":             "302 302 302 302 200 200 302 200 302",
    "admin:tenants_tenant_delete":              "302 302 302 302 403 200 302 200 302",
    "admin:jobs_backupjob_changelist":          "302 302 302 302 200 200 200 200 302",
    "admin:jobs_backupjob_add":                 "302 302 302 302 403 200 200 200 302",
    "admin:jobs_backupjob_change":              "302 302 302 302 200 200 302 200 302",
    "admin:jobs_backupjob_history":             "302 302 302 302 200 200 302 200 302",
    "admin:jobs_backupjob_delete":              "302 302 302 302 403 200 302 200 302",
    "admin:jobs_backupsession_changelist":      "302 302 302 302 200 200 200 200 302",
    "admin:jobs_backupsession_add":             "302 302 302 302 403 403 403 403 302",
    "admin:jobs_backupsession_change":          "302 302 302 302 200 200 302 200 302",
    "admin:jobs_backupsession_history":         "302 302 302 302 200 200 302 200 302",
    "admin:jobs_backupsession_delete":          "302 302 302 302 403 200 302 200 302",
    # Shared things: a limited user reads repositories and proxies; changing them needs all tenants.
    "admin:jobs_proxy_changelist":              "302 302 302 302 200 200 200 200 302",
    "admin:jobs_proxy_add":                     "302 302 302 302 403 403 403 200 302",
    "admin:jobs_proxy_change":                  "302 302 302 302 200 200 200 200 302",
    "admin:jobs_proxy_history":                 "302 302 302 302 200 200 200 200 302",
    "admin:jobs_proxy_delete":                  "302 302 302 302 403 403 403 200 302",
    "admin:repositories_*_changelist":          "302 302 302 302 200 200 200 200 302",
    "admin:repositories_*_add":                 "302 302 302 302 403 403 403 403 302",
    "admin:repositories_*_change":              "302 302 302 302 200 200 200 200 302",
    "admin:repositories_*_history":             "302 302 302 302 200 200 200 200 302",
    "admin:repositories_*_delete":              "302 302 302 302 403 403 403 200 302",
    # Users and roles: an assignment to all tenants only (other operators' names can be other tenants').
    "admin:accounts_user_*":                    "302 302 302 302 403 403 403 200 302",
    "admin:auth_user_password_change":          "302 302 302 302 403 403 403 200 302",
    # django-q2's task tables and django-axes' login records: administrators of all tenants only.
    # (Their objects asked for here do not exist: the superuser is sent back to the index; their admins
    # offer no add page except django-q2's schedules; a missing object's history redirects before any check.)
    "admin:django_q_*":                         "302 302 302 302 403 403 403 302 302",
    "admin:django_q_*_changelist":              "302 302 302 302 403 403 403 200 302",
    "admin:django_q_*_add":                     "302 302 302 302 403 403 403 403 302",
    "admin:django_q_schedule_add":              "302 302 302 302 403 403 403 200 302",
    "admin:django_q_*_history":                 "302 302 302 302 302 302 302 302 302",
    "admin:axes_*":                             "302 302 302 302 403 403 403 302 302",
    "admin:axes_*_changelist":                  "302 302 302 302 403 403 403 200 302",
    "admin:axes_*_add":                         "302 302 302 302 403 403 403 403 302",
    "admin:axes_*_history":                     "302 302 302 302 302 302 302 302 302",
    # The audit trail: who did what on every tenant, so an assignment to all tenants only (administrators
    # and security administrators). Its admin is read only: no add, change or delete, even for the superuser.
    "audittrail:entry_list":                    "302 403 403 403 403 403 403 200 403",
    "audittrail:entry_export":                  "302 403 403 403 403 403 403 200 403",
    "audittrail:entry_verify":                  "302 403 403 403 403 403 403 200 403",
    "admin:audittrail_*":                       "302 302 302 302 403 403 403 302 302",
    "admin:audittrail_*_changelist":            "302 302 302 302 403 403 403 200 302",
    "admin:audittrail_*_add":                   "302 302 302 302 403 403 403 403 302",
    "admin:audittrail_*_delete":                "302 302 302 302 403 403 403 403 302",
    "admin:audittrail_*_history":               "302 302 302 302 302 302 302 302 302",
    # Notifications: channels and thresholds are shared by every tenant, so an assignment to all tenants only.
    # (The channel asked for does not exist: the superuser gets 404; thresholds posted empty are sent back.)
    "notifications:channel_list":               "302 403 403 403 403 403 403 200 403",
    "notifications:channel_add":                "302 403 403 403 403 403 403 200 403",
    "notifications:channel_edit":               "302 403 403 403 403 403 403 404 403",
    "notifications:channel_test":               "302 403 403 403 403 403 403 404 403",
    "notifications:settings_update":            "302 403 403 403 403 403 403 302 403",
    "admin:notifications_*":                    "302 302 302 302 403 403 403 302 302",
    "admin:notifications_*_changelist":         "302 302 302 302 403 403 403 200 302",
    "admin:notifications_*_add":                "302 302 302 302 403 403 403 200 302",
    "admin:notifications_*_history":            "302 302 302 302 302 302 302 302 302",
    # A delivery names its tenant: an administrator of one tenant sees that tenant's deliveries only.
    "admin:notifications_delivery_*":           "302 302 302 302 403 302 302 302 302",
    "admin:notifications_delivery_changelist":  "302 302 302 302 403 200 200 200 302",
    "admin:notifications_delivery_add":         "302 302 302 302 403 403 403 403 302",
    "admin:notifications_delivery_history":     "302 302 302 302 302 302 302 302 302",
}
POST = {"tenants:tenant_check", "repositories:repository_check", "repositories:log_repository_check", "jobs:job_run",
        "jobs:session_cancel", "restore:log_revert", "restore:plan_from_audit", "restore:restore_session_cancel",
        "restore:restore_session_passwords", "accounts:second_factor_confirm", "accounts:second_factor_remove",
        "accounts:second_factor_reset", "approvals:approval_approve", "approvals:approval_deny",
        "approvals:approval_withdraw", "notifications:channel_test",
        "notifications:settings_update"}  # logging out is a POST: asked with a GET here, to stay logged in
# Which object of tenant A (see `world`) each URL names; URLs without parameters are absent.
ARGS = {
    "tenants:*": {"pk": "tenant"}, "jobs:job_run": {"pk": "job"}, "jobs:job_edit": {"pk": "job"},
    "jobs:job_remove": {"pk": "job"}, "jobs:log_job_*": {"pk": "log_job"}, "jobs:session_*": {"pk": "session"},
    "jobs:session_action": {"kind": "backup_kind", "pk": "session", "action": "full_action"},
    "jobs:log_session_detail": {"pk": "log_session"}, "repositories:repository_*": {"pk": "repository"},
    "repositories:log_repository_*": {"pk": "log_repository"}, "restore:plan_detail": {"pk": "plan"},
    "restore:restore_session_*": {"pk": "restore_session"}, "restore:*": {"tenant_pk": "tenant"},
    "restore:object_detail": {"tenant_pk": "tenant", "object_type": "user_type", "object_id": "user_id"},
    "admin:app_list": {"app_label": "tenants_app"}, "admin:view_on_site": {"content_type_id": "tenant_ct",
                                                                             "object_id": "tenant"},
    "admin:tenants_tenant_*": {"object_id": "tenant"}, "admin:jobs_backupjob_*": {"object_id": "job"},
    "admin:jobs_backupsession_*": {"object_id": "session"}, "admin:jobs_proxy_*": {"object_id": "proxy"},
    "admin:repositories_repository_*": {"object_id": "repository"},
    "admin:repositories_logrepository_*": {"object_id": "log_repository"},
    "admin:accounts_user_*": {"object_id": "viewer_user"}, "admin:auth_user_password_change": {"id": "viewer_user"},
    "admin:django_q_*": {"object_id": "nothing"}, "admin:axes_*": {"object_id": "nothing"},
    "admin:audittrail_*": {"object_id": "nothing"},
    "approvals:approval_*": {"pk": "approval"},
    "notifications:channel_*": {"pk": "nothing"}, "admin:notifications_*": {"object_id": "nothing"},
}


def url_names() -> list[str]:
    """Every named URL of the URLconf, "namespace:name"."""
    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(filter(None, [namespace, pattern.namespace])) if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name
    return sorted(set(walk(get_resolver().url_patterns, "")))


def _row(table: dict, name: str):
    """The exact row of `name`, else the most specific pattern row (the longest) that matches it."""
    if name in table:
        return table[name]
    matches = sorted((key for key in table if "*" in key and fnmatch.fnmatchcase(name, key)), key=len)
    return table[matches[-1]] if matches else None


def test_every_url_has_a_row():
    missing = [name for name in url_names() if _row(EXPECTED, name) is None]
    assert not missing, f"URLs without a row in EXPECTED (add their designed status codes): {missing}"
    for key, codes in EXPECTED.items():
        assert len(codes.split()) in (len(COLUMNS), len(COLUMNS) - 1), key


def _tenant(name: str, directory: str):
    # A custom cloud on a closed loopback port: a connection test fails at once, nothing leaves the machine.
    # A certificate credential, so the certificate download has something to send.
    generated = graph.generate_self_signed(directory, key_size=1024)
    credential = graph.ClientCertificate(generated.private_key_pem, generated.certificate_pem)
    return tenant_create(name=name, directory_id=directory, client_id="11111111-2222-3333-4444-555555555555",
                         credential=credential, cloud="custom",
                         authority_url="https://127.0.0.1:9", graph_url="https://127.0.0.1:9")


def _backups(tenant, repository, users_per_point: list[list[dict]]) -> list[str]:
    """Restore points of `tenant` written to the repository as a backup writes them; their URL names."""
    points = []
    with repository_store(repository) as store:
        store.tenant_ensure(str(tenant.key), tenant.directory_id, tenant.name)
        for n, users in enumerate(users_per_point):
            with store.session(str(tenant.key), f"matrix-{tenant.pk}-{n}", kind="full") as writer:
                writer.put_full("user", users)
                points.append(f"{repository.pk}:{writer.commit({})}")
    return points


def _side(tenant, marker: str, repository, log_repository) -> dict:
    """Tenant `tenant` with a job, a finished session, a log session, restore points, a plan, a restore session."""
    job = job_create(tenant=tenant, repository=repository)
    session = BackupSession.objects.create(job=job, tenant=tenant, status="success")
    log_job = LogJob.objects.create(tenant=tenant, primary=log_repository)
    log_session = LogSession.objects.create(job=log_job, tenant=tenant, status="success")
    user_id = f"{marker}-user-0001"
    first = stored_user(1, id=user_id, displayName=f"{marker} person", userPrincipalName=f"p@{marker}.example")
    points = _backups(tenant, repository, [[first], [{**first, "jobTitle": f"{marker} chief"}]])
    plan = _plan(tenant)
    restore_session = RestoreSession.objects.create(tenant=tenant, plan=plan.plan, plan_id=plan.plan["plan_id"],
                                                    reason="matrix", status="success")
    return {"tenant": tenant, "job": job, "session": session, "log_job": log_job, "log_session": log_session, "plan": plan,
            "restore_session": restore_session, "user_id": user_id, "points": points, "backup_kind": "backup",
            "full_action": "full"}


def _plan(tenant) -> RestorePlan:
    empty = planner.State({"user": {}}, {})
    body = planner.Planner(empty, empty, planner.Selection(everything=True), planner.Options()).build()
    doc = planner.plan_document(tenant={"key": str(tenant.key), "name": tenant.name, "directory_id": tenant.directory_id},
                                restore_point={"repository": 1, "id": 1, "committed_at": "2026-11-30T00:00:00+00:00"},
                                selection=planner.Selection(everything=True), options=planner.Options(), body=body)
    return RestorePlan.objects.create(tenant=tenant, plan=doc)


def _users(a, b) -> dict[str, User]:
    users = {"root": User.objects.create_superuser(username="root", password="pw-for-tests-only")}
    for role in A_ROLES:
        users[role] = User.objects.create_user(username=f"{role}-a", password="pw-for-tests-only",
                                               is_staff=role in ("administrator", "security"))
        role_assign(user=users[role], role=role, tenants=[a])
    users["other"] = User.objects.create_user(username="admin-b", password="pw-for-tests-only", is_staff=True)
    role_assign(user=users["other"], role=Role.ADMINISTRATOR, tenants=[b])
    users["mixed"] = User.objects.create_user(username="mixed", password="pw-for-tests-only")
    role_assign(user=users["mixed"], role=Role.VIEWER, tenants=[a])
    role_assign(user=users["mixed"], role=Role.BACKUP, tenants=[b])
    role_assign(user=users["mixed"], role=Role.RESTORE, tenants=[b])
    return users


@pytest.fixture
def world(clean_repository_database, db, tmp_path, settings):
    settings.LOG_REPOSITORY_ROOTS = [tmp_path]
    # About 1,000 requests: sessions in signed cookies spare a database read each, and the 403s are not
    # logged with their tracebacks.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    request_logger = logging.getLogger("django.request")
    level, request_logger.level = request_logger.level, logging.ERROR
    repository = repository_default()
    log_repository = LogRepository.objects.create(name="Shared logs", kind="directory", path=str(tmp_path / "logs"))
    a = _side(_tenant(A_NAME, "qwa-a.example"), "qwa", repository, log_repository)
    b = _side(_tenant(B_NAME, "zqx-b.example"), "zqx", repository, log_repository)
    users = _users(a["tenant"], b["tenant"])
    approval = ApprovalRequest.objects.create(
        action="retention.lower", summary=f"Lower the retention of {a['job']}", tenant=a["tenant"],
        params={"kind": "job", "pk": a["job"].pk, "retention_days": 3}, requested_by=users["restore"],
        expires_at=timezone.now() + timedelta(hours=1))
    objects = {**{k: getattr(v, "pk", v) for k, v in a.items() if k != "points"}, "user_type": "user", "repository": repository.pk,
               "log_repository": log_repository.pk, "tenants_app": "tenants", "nothing": 999999,
               "tenant_ct": ContentType.objects.get_for_model(a["tenant"]).pk, "viewer_user": users["viewer"].pk,
               "proxy": Proxy.objects.create(name="proxy-1", host="host-1").pk, "approval": approval.pk}
    yield {"a": a, "b": b, "users": users, "objects": objects}
    request_logger.setLevel(level)


def _markers(side: dict) -> list[str]:
    """What must never reach a user of the other tenant: names, ids, and links to the side's objects."""
    tenant = side["tenant"]
    return ["QWA-A" if "QWA-A" in tenant.name else "ZQX-B", tenant.directory_id, str(tenant.key), side["user_id"],
            f"/tenants/{tenant.pk}/", f"/jobs/sessions/{side['session'].pk}/", f"/restore/plans/{side['plan'].pk}/",
            f"/restore/sessions/{side['restore_session'].pk}/", f"/jobs/logs/sessions/{side['log_session'].pk}/"]


def _url(name: str, objects: dict) -> str:
    params = _row(ARGS, name) or {}
    try:
        return reverse(name, kwargs={param: objects[key] for param, key in params.items()})
    except NoReverseMatch:  # a pattern row's URL without parameters (an admin's changelist or add page)
        return reverse(name)


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


def test_every_url_answers_each_role_as_designed_and_shows_no_other_tenant(world):
    clients = {}
    for column in COLUMNS:
        clients[column] = Client()
        if column != "anonymous":
            clients[column].force_login(world["users"][column])
    leaks_of = {column: _markers(world["b"]) for column in A_ROLES} | {"other": _markers(world["a"])}
    wrong, leaks = [], []
    for key in [name for name in url_names()] + [k for k in EXPECTED if k.endswith(" [htmx]")]:
        name = key.removesuffix(" [htmx]")
        url, headers = _url(name, world["objects"]), {"HX-Request": "true"} if key.endswith(" [htmx]") else {}
        if _row(EXPECTED, key) is None:
            continue  # test_every_url_has_a_row names it
        for column, expected in zip(COLUMNS, _row(EXPECTED, key).split(), strict=False):
            send = clients[column].post if name in POST else clients[column].get
            response = send(url, headers=headers)
            if response.status_code != int(expected):
                wrong.append(f"{key} as {column}: {response.status_code}, designed {expected}")
            body = _body(response) + response.get("Location", "") + response.get("Content-Disposition", "")
            leaks.extend(f"{key} as {column} shows {marker!r}" for marker in leaks_of.get(column, ())
                         if marker in body)
    assert not wrong, "\n".join(wrong)
    assert not leaks, "\n".join(leaks)


def test_a_limited_user_sees_its_tenant_in_lists_and_forms(world):
    """The other half of the leak check: the lists are not empty, they hold the user's own tenant."""
    client = Client()
    client.force_login(world["users"]["administrator"])
    for name in ("tenants:tenant_list", "jobs:job_list", "jobs:session_list", "restore:restore_index",
                 "jobs:job_add", "admin:tenants_tenant_changelist"):
        assert "QWA-A" in client.get(reverse(name)).content.decode(), name
    page = client.get(reverse("restore:object_explorer", args=[world["a"]["tenant"].pk])).content.decode()
    assert world["a"]["user_id"] in page or "qwa person" in page
    assert re.search(r"zqx", page, re.IGNORECASE) is None


def test_another_tenants_restore_points_and_objects_cannot_be_named_through_ones_own_tenant(world):
    """The shared repository holds both tenants: naming B's restore points or objects in A's URLs finds nothing."""
    client = Client()
    client.force_login(world["users"]["administrator"])
    a, b = world["a"]["tenant"].pk, world["b"]
    first, second = b["points"]
    probes = {
        reverse("restore:object_explorer", args=[a]) + f"?rp={second}": 404,
        reverse("restore:object_detail", args=[a, "user", b["user_id"]]): 404,
        reverse("restore:object_detail", args=[a, "user", b["user_id"]]) + f"?rp={second}": 404,
        reverse("restore:compare_view", args=[a]) + f"?from={first}&to={second}": 404,
        reverse("restore:compare_export", args=[a]) + f"?from={first}&to={second}&format=csv": 404,
        reverse("restore:compare_view", args=[a]) + f"?object={b['user_id']}": 200,  # no change of it in A
    }
    # The id asked for is echoed back ("no such object"); B's object's contents and B itself must not be.
    hidden = ["zqx person", "zqx chief", "p@zqx.example", "ZQX-B", b["tenant"].directory_id, str(b["tenant"].key)]
    for url, status in probes.items():
        response = client.get(url)
        body = _body(response)
        assert response.status_code == status, url
        assert not [marker for marker in hidden if marker in body], url
