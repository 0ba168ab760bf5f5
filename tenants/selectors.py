"""Reads of tenants, scoped to what a user may see."""

from django.db.models import QuerySet

from accounts.access import scope, scoped_or_404, tenants_for
from tenants.errors import TenantNotFoundError
from tenants.models import Tenant
from tenants.services import credential_expiry_warning

VIEW = "tenants.view_tenant"


def tenants_visible_to(user, perm: str = VIEW) -> QuerySet[Tenant]:
    """The tenants on which `user` holds `perm` (accounts.access: roles limited to tenants)."""
    return tenants_for(user, perm)


def tenant_for(user, pk: int, *perms: str) -> Tenant:
    """The tenant `pk` if `user` holds every one of `perms` (default: view) on it; Http404 otherwise (another
    tenant's is not revealed)."""
    first, *more = perms or (VIEW,)
    tenants = Tenant.objects.all()
    for perm in more:
        tenants = scope(tenants, user, perm)
    return scoped_or_404(tenants, user, first, pk=pk)


def tenants_with_warnings(user) -> list[tuple[Tenant, str | None]]:
    return [(tenant, credential_expiry_warning(tenant)) for tenant in tenants_visible_to(user)]


def tenant_named(name: str) -> Tenant:
    """The tenant with this name (any case) or this id, for commands; TenantNotFoundError otherwise."""
    tenant = Tenant.objects.filter(name__iexact=name).first() if name.isprintable() else None
    if tenant is None and name.isascii() and name.isdigit() and len(name) < 19:
        tenant = Tenant.objects.filter(pk=int(name)).first()
    if tenant is None:
        raise TenantNotFoundError(f"No tenant named {name[:100]!r}; see manage.py tenant_list.")
    return tenant
