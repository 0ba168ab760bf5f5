from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from entrabackup.paging import render_list
from repositories.errors import RepositoryError
from tenants import lifecycle, lists, selectors, services
from tenants.errors import TenantValidationError
from tenants.forms import CredentialForm, TenantConnectionForm, TenantEditForm, TenantForm, TenantRemoveForm

# What a credential form receives: never in an error report (the certificate file is not in POST).
SECRET_FIELDS = ("client_secret", "certificate_password")


@permission_required("tenants.view_tenant", raise_exception=True)
def tenant_list(request):
    query, page = lists.tenant_page(request)
    return render_list(request, "tenants/tenant_list.html", "tenants/_tenant_table.html",
                       {"query": query, "page": lists.with_warnings(page)}, query.status)


@sensitive_post_parameters(*SECRET_FIELDS)
@sensitive_variables()
@permission_required("tenants.add_tenant", raise_exception=True)
def tenant_add(request):
    form = TenantForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = services.tenant_create(**form.registration())
        except TenantValidationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _registered_message(form))
            return redirect("tenants:tenant_detail", pk=tenant.pk)
    return render(request, "tenants/tenant_add.html", {"form": form})


@permission_required("tenants.add_tenant", raise_exception=True)
def tenant_clone(request, pk):
    """The add form filled from a tenant; the credential and the tenant ID are entered for the copy."""
    tenant = selectors.tenant_for(request.user, pk, "tenants.view_tenant")
    form = TenantForm(initial=lifecycle.tenant_clone_initial(tenant))
    return render(request, "tenants/tenant_add.html", {"form": form, "clone_of": tenant})


@permission_required("tenants.change_tenant", raise_exception=True)
def tenant_edit(request, pk):
    tenant = selectors.tenant_for(request.user, pk, "tenants.change_tenant")
    form = TenantEditForm(request.POST or None, initial=TenantEditForm.initial_for(tenant))
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.tenant_update(tenant=tenant, user=request.user, request=request, **form.cleaned_data)
        except TenantValidationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Tenant '{tenant.name}' saved.")
            return redirect("tenants:tenant_detail", pk=tenant.pk)
    return render(request, "tenants/tenant_edit.html", {"tenant": tenant, "form": form})


@permission_required("tenants.delete_tenant", raise_exception=True)
def tenant_remove(request, pk):
    """What the tenant holds and what happens to it; the removal itself on POST."""
    tenant = selectors.tenant_for(request.user, pk, "tenants.delete_tenant")
    form = TenantRemoveForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            done = lifecycle.tenant_remove(tenant=tenant, user=request.user, request=request, **form.cleaned_data)
        except (TenantValidationError, RepositoryError) as exc:
            form.add_error(None, str(exc))
        else:
            if not isinstance(done, lifecycle.TenantHoldings):
                messages.info(request, f"Erasing the restore points of '{tenant.name}' waits for a second administrator's "
                                       "approval; remove the tenant once they are erased.")
                return redirect("tenants:tenant_detail", pk=tenant.pk)
            messages.success(request, f"Tenant '{tenant.name}' removed.")
            return redirect("tenants:tenant_list")
    holdings = lifecycle.tenant_holdings(tenant)
    return render(request, "tenants/tenant_remove.html", {"tenant": tenant, "form": form, "holdings": holdings})


@permission_required("tenants.view_tenant", raise_exception=True)
def tenant_detail(request, pk):
    tenant = selectors.tenant_for(request.user, pk)
    warning = services.credential_expiry_warning(tenant)
    return render(request, "tenants/tenant_detail.html", {"tenant": tenant, "warning": warning})


@require_POST
@permission_required("tenants.test_connection", raise_exception=True)
def tenant_check(request, pk):
    tenant = selectors.tenant_for(request.user, pk, "tenants.test_connection")
    services.tenant_check(tenant=tenant)
    return render(request, "tenants/_tenant_check.html", {"tenant": tenant})


@sensitive_post_parameters(*SECRET_FIELDS)
@sensitive_variables()
@permission_required("tenants.change_credential", raise_exception=True)
def tenant_credential(request, pk):
    tenant = selectors.tenant_for(request.user, pk, "tenants.change_credential")
    form = CredentialForm(request.POST or None, request.FILES or None, initial={"name": tenant.name})
    if request.method == "POST" and form.is_valid():
        credential, expires = form.cleaned_data["credential"], form.expires_at()
        services.tenant_set_credential(tenant=tenant, credential=credential, secret_expires_at=expires)
        messages.success(request, _registered_message(form, replaced=True))
        return redirect("tenants:tenant_detail", pk=tenant.pk)
    return render(request, "tenants/tenant_credential.html", {"tenant": tenant, "form": form})


@sensitive_post_parameters(*SECRET_FIELDS)
@sensitive_variables()
@permission_required("tenants.change_tenant", raise_exception=True)
def tenant_connection(request, pk):
    """Change where the credential is sent: cloud, tenant ID, URLs, CA bundle; only with the credential again."""
    tenant = selectors.tenant_for(request.user, pk, "tenants.change_tenant")
    form = TenantConnectionForm(request.POST or None, request.FILES or None, initial=TenantConnectionForm.initial_for(tenant))
    if request.method == "POST" and form.is_valid():
        try:
            services.tenant_set_connection(tenant=tenant, **form.connection())
        except TenantValidationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Connection changed. " + _registered_message(form, replaced=True))
            return redirect("tenants:tenant_detail", pk=tenant.pk)
    return render(request, "tenants/tenant_connection.html", {"tenant": tenant, "form": form})


@permission_required("tenants.view_tenant", raise_exception=True)
def tenant_certificate(request, pk):
    """The public certificate, to upload under the app registration's Certificates & secrets."""
    tenant = selectors.tenant_for(request.user, pk)
    if not tenant.certificate_pem:
        return HttpResponse("This tenant uses a client secret, not a certificate.", status=404, content_type="text/plain")
    response = HttpResponse(tenant.certificate_pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="entrabackup-{tenant.pk}.cer"'
    return response


def _registered_message(form, *, replaced=False) -> str:
    done = "Credential replaced." if replaced else "Tenant registered."
    if getattr(form, "generated", None):
        return f"{done} Download the certificate below and add it to the app registration, then test the connection."
    return f"{done} Test the connection to see whether every permission is granted."
