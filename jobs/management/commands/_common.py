"""Shared by the jobs commands: finding a tenant by name."""

from django.core.management.base import CommandError

from tenants.models import Tenant


def tenant_named(name: str) -> Tenant:
    tenant = Tenant.objects.filter(name__iexact=name).first()
    if tenant is None and name.isdigit():
        tenant = Tenant.objects.filter(pk=int(name)).first()
    if tenant is None:
        raise CommandError(f"No tenant named {name!r}; see manage.py tenant_list.")
    return tenant
