"""Reads of tenants, scoped to what a user may see."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from tenants.errors import TenantNotFoundError
from tenants.models import Tenant
from tenants.services import credential_expiry_warning


def tenants_visible_to(user) -> QuerySet[Tenant]:
    """Every tenant for now; tenant scopes per role narrow this one query when they arrive."""
    if not user.has_perm("tenants.view_tenant"):
        return Tenant.objects.none()
    return Tenant.objects.all()


def tenant_for(user, pk: int) -> Tenant:
    return get_object_or_404(tenants_visible_to(user), pk=pk)


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
