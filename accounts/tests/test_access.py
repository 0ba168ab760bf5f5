"""The role backend and the scoping helpers: what each assignment grants, on which tenants."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts import access
from accounts.models import RoleAssignment
from accounts.roles import PERMISSIONS, Role
from accounts.services import role_assign
from entrabackup import graph
from jobs.models import BackupJob
from repositories.models import LogRepository, Repository
from tenants.models import Tenant
from tenants.services import tenant_create

pytestmark = pytest.mark.django_db


def _tenant(name: str) -> Tenant:
    return tenant_create(name=name, directory_id=f"{name.lower()}.example",
                         client_id="11111111-2222-3333-4444-555555555555", credential=graph.ClientSecret("s"))


@pytest.fixture
def tenants():
    return _tenant("Alpha"), _tenant("Beta")


@pytest.fixture
def jobs(tenants):
    repository = Repository.objects.create(name="Shared", kind="local", database="entrabackup_unused")
    return [BackupJob.objects.create(name=f"Job {t.name}", tenant=t, repository=repository) for t in tenants]


def _user(django_user_model, role, tenants=None, name="u"):
    user = django_user_model.objects.create_user(username=name, password="pw-for-tests-only")
    role_assign(user=user, role=role, tenants=tenants)
    return django_user_model.objects.get(pk=user.pk)  # fresh: no cached permissions


def test_a_limited_backup_operator_may_run_backups_only_on_its_tenant(django_user_model, tenants, jobs):
    alpha, beta = tenants
    user = _user(django_user_model, Role.BACKUP, [alpha])
    assert user.has_perm("jobs.run_backup") and user.has_perm("jobs.run_backup", alpha)
    assert not user.has_perm("jobs.run_backup", beta)
    assert user.has_perm("jobs.run_backup", jobs[0]) and not user.has_perm("jobs.run_backup", jobs[1])
    assert not user.has_perm("restore.run_restore") and not user.has_perm("restore.run_restore", alpha)


def test_scope_and_tenants_for_hold_only_the_assigned_tenants(django_user_model, tenants, jobs):
    alpha, _ = tenants
    user = _user(django_user_model, Role.VIEWER, [alpha])
    assert list(access.tenants_for(user, "tenants.view_tenant")) == [alpha]
    assert list(access.scope(Tenant.objects.all(), user, "tenants.view_tenant")) == [alpha]
    assert list(access.scope(BackupJob.objects.all(), user, "jobs.view_backupjob")) == [jobs[0]]
    assert not access.scope(BackupJob.objects.all(), user, "jobs.run_backup").exists()  # a viewer runs nothing


def test_scoped_or_404_hides_another_tenants_object(django_user_model, tenants, jobs):
    user = _user(django_user_model, Role.BACKUP, [tenants[0]])
    assert access.scoped_or_404(BackupJob.objects.all(), user, "jobs.run_backup", pk=jobs[0].pk) == jobs[0]
    with pytest.raises(Http404):
        access.scoped_or_404(BackupJob.objects.all(), user, "jobs.run_backup", pk=jobs[1].pk)


def test_an_assignment_to_all_tenants_covers_tenants_added_later(django_user_model, tenants):
    user = _user(django_user_model, Role.VIEWER)
    later = _tenant("Gamma")
    assert set(access.tenants_for(user, "tenants.view_tenant")) == {*tenants, later}
    assert user.has_perm("tenants.view_tenant", later)


def test_a_limited_assignment_whose_tenants_are_gone_grants_nothing(django_user_model, tenants):
    alpha, beta = tenants
    user = _user(django_user_model, Role.ADMINISTRATOR, [alpha])
    alpha.delete()
    access.forget(user)
    assert not access.tenants_for(user, "tenants.view_tenant").exists()
    assert not user.has_perm("tenants.view_tenant") and not user.has_perm("tenants.view_tenant", beta)
    assert not user.has_perm("repositories.view_repository")


def test_shared_changes_need_an_assignment_to_all_tenants(django_user_model, tenants):
    limited = _user(django_user_model, Role.ADMINISTRATOR, [tenants[0]], name="limited")
    everywhere = _user(django_user_model, Role.ADMINISTRATOR, name="everywhere")
    for perm in ("tenants.add_tenant", "repositories.add_repository", "repositories.change_repository",
                 "accounts.add_user", "accounts.change_roleassignment"):
        assert not limited.has_perm(perm), perm
        assert everywhere.has_perm(perm), perm
    assert limited.has_perm("repositories.view_repository") and limited.has_perm("jobs.view_proxy")
    assert not limited.has_perm("accounts.view_user")  # other operators' names can be other tenants' names


def test_a_limited_security_administrator_cannot_manage_users(django_user_model, tenants):
    user = _user(django_user_model, Role.SECURITY, [tenants[0]])
    assert user.has_perm("tenants.change_credential", tenants[0])
    assert not user.has_perm("tenants.change_credential", tenants[1])
    assert not user.has_perm("accounts.add_roleassignment") and not user.has_module_perms("accounts")


def test_roles_add_up_each_on_its_own_tenants(django_user_model, tenants):
    alpha, beta = tenants
    user = _user(django_user_model, Role.VIEWER, [alpha, beta])
    role_assign(user=user, role=Role.RESTORE, tenants=[alpha])
    access.forget(user)
    assert list(access.tenants_for(user, "restore.run_restore")) == [alpha]
    assert set(access.tenants_for(user, "tenants.view_tenant")) == {alpha, beta}


def test_giving_a_role_again_replaces_its_tenants(django_user_model, tenants):
    alpha, beta = tenants
    user = _user(django_user_model, Role.RESTORE, [alpha])
    role_assign(user=user, role=Role.RESTORE, tenants=[beta])
    assert RoleAssignment.objects.filter(user=user).count() == 1
    assert list(access.tenants_for(user, "restore.run_restore")) == [beta]


def test_superusers_hold_everything_and_anonymous_and_inactive_users_nothing(django_user_model, tenants):
    root = django_user_model.objects.create_superuser(username="root", password="pw-for-tests-only")
    assert root.has_perm("restore.run_restore", tenants[1]) and access.tenants_for(root, "any.perm").count() == 2
    assert not access.tenants_for(AnonymousUser(), "tenants.view_tenant").exists()
    user = _user(django_user_model, Role.ADMINISTRATOR)
    user.is_active = False
    assert not user.has_perm("tenants.view_tenant") and not access.tenants_for(user, "tenants.view_tenant").exists()


def test_direct_permissions_count_for_all_tenants(django_user_model, tenants):
    user = django_user_model.objects.create_user(username="direct", password="pw-for-tests-only")
    user.user_permissions.add(Permission.objects.get(codename="view_tenant"))
    user = django_user_model.objects.get(pk=user.pk)
    assert user.has_perm("tenants.view_tenant", tenants[1])
    assert access.tenants_for(user, "tenants.view_tenant").count() == 2


def test_every_permission_of_the_role_table_exists():
    """A role naming a permission no model declares grants nothing: a typo there would go unnoticed."""
    known = access.all_permissions()
    for role, perms in PERMISSIONS.items():
        if role != Role.ADMINISTRATOR:
            assert perms <= known, (role, sorted(perms - known))


def test_the_backend_lists_a_limited_users_permissions_per_tenant(django_user_model, tenants):
    user = _user(django_user_model, Role.BACKUP, [tenants[0]])
    on_alpha = access.RoleBackend().get_all_permissions(user, tenants[0])
    on_beta = access.RoleBackend().get_all_permissions(user, tenants[1])
    assert "jobs.run_backup" in on_alpha and "jobs.run_backup" not in on_beta
    assert "jobs.view_proxy" in on_beta  # shared reads hold on any object


def test_a_tenant_page_offers_a_control_only_where_the_user_may_use_it(client, django_user_model, tenants):
    alpha, beta = tenants
    user = _user(django_user_model, Role.VIEWER, [alpha, beta])
    role_assign(user=user, role=Role.SECURITY, tenants=[beta])
    client.force_login(user)
    replace = "Replace the credential"
    assert replace not in client.get(reverse("tenants:tenant_detail", args=[alpha.pk])).content.decode()
    assert replace in client.get(reverse("tenants:tenant_detail", args=[beta.pk])).content.decode()
    assert client.get(reverse("tenants:tenant_credential", args=[alpha.pk])).status_code == 404


def test_a_security_administrator_gives_roles_in_the_admin_but_makes_no_superuser(client, django_user_model, tenants):
    alpha, _ = tenants
    security = _user(django_user_model, Role.SECURITY, name="sec")
    security.is_staff = True
    security.save()
    target = django_user_model.objects.create_user(username="rita", password="pw-for-tests-only")
    client.force_login(security)
    response = client.post(reverse("admin:accounts_user_change", args=[target.pk]), {
        "username": "rita", "is_active": "on", "is_superuser": "on", "_save": "Save",
        "role_assignments-TOTAL_FORMS": "1", "role_assignments-INITIAL_FORMS": "0",
        "role_assignments-MIN_NUM_FORMS": "0", "role_assignments-MAX_NUM_FORMS": "1000",
        "role_assignments-0-role": "restore", "role_assignments-0-tenants": [str(alpha.pk)],
        "role_assignments-0-user": str(target.pk),
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    target = django_user_model.objects.get(pk=target.pk)
    assert not target.is_superuser
    assert list(access.tenants_for(target, "restore.run_restore")) == [alpha]


def test_nobody_but_a_superuser_changes_the_local_administrator(client, django_user_model, tenants):
    security = _user(django_user_model, Role.ADMINISTRATOR, name="ada")
    security.is_staff = True
    security.save()
    root = django_user_model.objects.create_superuser(username="root", password="pw-for-tests-only")
    client.force_login(security)
    assert client.get(reverse("admin:auth_user_password_change", args=[root.pk])).status_code == 403
    assert client.post(reverse("admin:accounts_user_delete", args=[root.pk]), {"post": "yes"}).status_code == 403
    assert django_user_model.objects.filter(pk=root.pk).exists()


def test_a_limited_user_sees_a_shared_log_repositorys_check_without_the_tenants_it_names(client, django_user_model,
                                                                                         tenants, tmp_path):
    alpha, beta = tenants
    problem = f"damaged: {beta.key}/audit/2026/11/30/7-1.jsonl.zst"
    LogRepository.objects.create(name="Shared logs", kind="directory", path=str(tmp_path), check_ok=False,
                                 checked_at=timezone.now(), check_summary=f"4 chunks, 90 records checked; 1 damaged\n{problem}")
    limited = _user(django_user_model, Role.VIEWER, [alpha], name="limited")
    everywhere = _user(django_user_model, Role.VIEWER, name="everywhere")
    for user, shown in ((limited, False), (everywhere, True)):
        client.force_login(user)
        page = client.get(reverse("repositories:repository_list")).content.decode()
        assert "1 damaged" in page and (str(beta.key) in page) is shown
