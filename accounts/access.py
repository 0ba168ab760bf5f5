"""Who may do what, on which tenants: the one place that answers it (docs/access.md).

Permissions come from role assignments (accounts/roles.py). A permission is either *tenant-scoped* (its model
is the Tenant or has a `tenant` foreign key to it: jobs, sessions, restores, ...) or *shared* (repositories,
proxies, users, roles, adding a tenant). An assignment limited to some tenants grants its tenant-scoped
permissions on those tenants only, and of the shared ones only the reads in SHARED_READS; every other shared
permission needs an assignment to all tenants, so a tenant-limited user can never widen their own reach.

Superusers (the local administrator, `manage.py admin_ensure`) hold everything, everywhere.
Permissions given directly to a user or a group (Django's own, answered by ModelBackend) count for all
tenants; the product gives roles, never direct permissions.

Views, selectors, the admin and commands use `tenants_for`, `scope` and `scoped_or_404`; Django's own
`user.has_perm(perm)` and `user.has_perm(perm, obj)` answer through `RoleBackend`.
"""

from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.contrib.auth import get_permission_codename
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import RoleAssignment
from accounts.roles import role_grants
from tenants.models import Tenant

# Shared things a tenant-limited user may still read: what exists, never which other tenant uses it.
SHARED_READS = frozenset({"repositories.view_repository", "repositories.view_logrepository", "jobs.view_proxy"})
# Adding a tenant reaches beyond any tenant the user already has.
SHARED_ACTIONS = frozenset({"tenants.add_tenant"})
_CACHE = "_role_assignments_cache"


@dataclass(frozen=True)
class Grant:
    """One role assignment as the checks read it."""

    role: str
    all_tenants: bool
    tenant_ids: frozenset[int]

    def grants(self, perm: str, tenant_id: int | None = None) -> bool:
        """Whether this assignment gives `perm` (on `tenant_id` when given)."""
        if not role_grants(self.role, perm):
            return False
        if self.all_tenants:
            return True
        if not is_tenant_scoped(perm):
            return perm in SHARED_READS and bool(self.tenant_ids)
        return tenant_id in self.tenant_ids if tenant_id is not None else bool(self.tenant_ids)


@cache
def _permission_models() -> dict[str, type[Model]]:
    """Every permission "app_label.codename" of the installed models, with its model."""
    index = {}
    for model in apps.get_models():
        opts = model._meta
        for action in opts.default_permissions:
            index[f"{opts.app_label}.{get_permission_codename(action, opts)}"] = model
        for codename, _name in opts.permissions:
            index[f"{opts.app_label}.{codename}"] = model
    return index


def all_permissions() -> frozenset[str]:
    return frozenset(_permission_models())


@cache
def is_tenant_scoped(perm: str) -> bool:
    """True when `perm` acts on one tenant's data: its model is the Tenant or has a `tenant` key to it."""
    model = _permission_models().get(perm)
    if model is None or perm in SHARED_ACTIONS:
        return False
    return model is Tenant or _tenant_field(model) is not None


def _tenant_field(model):
    field = next((f for f in model._meta.get_fields() if f.name == "tenant"), None)
    return field if field is not None and getattr(field, "related_model", None) is Tenant else None


def grants_of(user) -> list[Grant]:
    """The user's role assignments, read once per user object (that is, once per request)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if not hasattr(user, _CACHE):
        scopes: dict[tuple[str, bool], set[int]] = {}
        # One query (a LEFT JOIN): every request of every user asks it.
        for role, all_tenants, tenant_id in RoleAssignment.objects.filter(user=user).values_list(
                "role", "all_tenants", "tenants__id"):
            scopes.setdefault((role, all_tenants), set()).update([tenant_id] if tenant_id is not None else [])
        setattr(user, _CACHE, [Grant(role, every, frozenset(ids)) for (role, every), ids in scopes.items()])
    return getattr(user, _CACHE)


def forget(user) -> None:
    """Drop the cached assignments (after they changed, in the same request or test)."""
    for name in (_CACHE, "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(name, None)


def _everywhere(user, perm: str) -> bool:
    """Superusers, direct permissions (Django's own) and assignments to all tenants hold `perm` everywhere."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser or perm in ModelBackend().get_all_permissions(user):
        return True
    return any(g.all_tenants and g.grants(perm) for g in grants_of(user))


def sees_every_tenant(user, perm: str = "tenants.view_tenant") -> bool:
    """Whether `user` holds `perm` on every tenant, present and future (superuser, or an assignment to all):
    only such a user sees details of shared things that name tenants."""
    return _everywhere(user, perm)


def tenant_of(obj) -> int | None:
    """The primary key of the tenant `obj` belongs to (or is); None for an object of no tenant."""
    if isinstance(obj, Tenant):
        return obj.pk
    if hasattr(obj, "tenant_id") and _tenant_field(type(obj)) is not None:
        return obj.tenant_id
    return None


def tenants_for(user, perm: str) -> QuerySet[Tenant]:
    """The tenants on which `user` holds `perm` (none without the role, all for superusers)."""
    if _everywhere(user, perm):
        return Tenant.objects.all()
    ids = set().union(*(g.tenant_ids for g in grants_of(user) if g.grants(perm)))
    return Tenant.objects.filter(pk__in=sorted(ids)) if ids else Tenant.objects.none()


def scope(queryset: QuerySet, user, perm: str, field: str = "tenant") -> QuerySet:
    """`queryset` narrowed to rows of the tenants on which `user` holds `perm` (`field` names their tenant;
    for a queryset of tenants it is the tenant itself)."""
    if _everywhere(user, perm):
        return queryset
    if queryset.model is Tenant and field == "tenant":
        field = "pk"
    ids = set().union(*(g.tenant_ids for g in grants_of(user) if g.grants(perm)))
    return queryset.filter(**{f"{field}__in": sorted(ids)}) if ids else queryset.none()


def scoped_or_404(queryset: QuerySet, user, perm: str, field: str = "tenant", **lookup):
    """The one row of `queryset` matching `lookup` on a tenant where `user` holds `perm`; Http404 otherwise
    (an object of another tenant is not found, it is not forbidden: its existence is not revealed)."""
    return get_object_or_404(scope(queryset, user, perm, field), **lookup)


class RoleBackend(BaseBackend):
    """Answers `user.has_perm(perm[, obj])` from role assignments; authenticates nobody (ModelBackend does)."""

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        grants = grants_of(user_obj)
        if not grants:
            return set()
        tenant_id = tenant_of(obj) if obj is not None else None
        return {perm for perm in all_permissions() if any(g.grants(perm, tenant_id) for g in grants)}

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        if obj is None or not (isinstance(obj, Tenant) or _tenant_field(type(obj))):
            return any(g.grants(perm) for g in grants_of(user_obj))
        if _everywhere(user_obj, perm):
            return True  # direct permissions too, which ModelBackend answers only without an object
        tenant_id = tenant_of(obj)  # None: a row of no tenant in a tenant's table, for those of all tenants
        return tenant_id is not None and any(g.grants(perm, tenant_id) for g in grants_of(user_obj))

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        return any(perm.startswith(f"{app_label}.") and self.has_perm(user_obj, perm) for perm in all_permissions())


def model_perm(model, action: str) -> str:
    """The permission "app_label.<action>_<model>" of `model` (action: view, add, change, delete)."""
    return f"{model._meta.app_label}.{get_permission_codename(action, model._meta)}"


class TenantScopedAdmin:
    """ModelAdmin mixin: the admin shows and changes only rows of the tenants the user's roles cover, with
    the same checks as the pages (`tenant_field` names the row's tenant; "pk" for the Tenant itself).
    Foreign keys to tenants offer only those tenants."""

    tenant_field = "tenant"

    def get_queryset(self, request):
        return scope(super().get_queryset(request), request.user, model_perm(self.model, "view"), self.tenant_field)

    def has_view_permission(self, request, obj=None):
        return any(request.user.has_perm(model_perm(self.model, action), obj) for action in ("view", "change"))

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(model_perm(self.model, "change"), obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm(model_perm(self.model, "delete"), obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Tenant:
            kwargs["queryset"] = tenants_for(request.user, model_perm(self.model, "change"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
