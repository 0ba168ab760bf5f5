"""The Tenants list's filters and page (entrabackup/paging.py), scoped to the tenants the user may see."""

from django import forms
from django.db.models import Q

from entrabackup import paging
from tenants.models import Tenant
from tenants.selectors import tenants_visible_to
from tenants.services import credential_expiry_warning


class TenantFilter(paging.ListFilter):
    q = paging.name_contains("Name or tenant ID contains")
    state = paging.enabled_choice()
    status = forms.ChoiceField(required=False, label="Connection", choices=[("", "Any"), *Tenant.CheckStatus.choices],
                               error_messages={"invalid_choice": "Connection: %(value)s is not a connection status."})


def filtered(tenants, filters: dict):
    """`tenants` narrowed by the list's filters (name or directory ID contains, enabled, connection status)."""
    if filters.get("q"):
        tenants = tenants.filter(Q(name__icontains=filters["q"]) | Q(directory_id__icontains=filters["q"]))
    if filters.get("state"):
        tenants = tenants.filter(enabled=filters["state"] == "yes")
    if filters.get("status"):
        tenants = tenants.filter(check_status=filters["status"])
    return tenants


def tenant_page(request, perm: str = "tenants.view_tenant"):
    """(query, page): one page of the tenants the user holds `perm` on, by name, filtered."""
    query = paging.read_query(request, TenantFilter)
    tenants = filtered(tenants_visible_to(request.user, perm), query.filters).order_by("name", "pk")
    return query, paging.offset_page(tenants, query.filters.get("page"), query.params)


def with_warnings(page: paging.Page) -> paging.Page:
    """The page's rows as (tenant, credential warning or None)."""
    for tenant in page.rows:
        tenant.detail_url = paging.url_of("tenants:tenant_detail", tenant.pk)
    page.rows = [(tenant, credential_expiry_warning(tenant)) for tenant in page.rows]
    return page
