from django.shortcuts import render


def tenant_list(request):
    return render(request, "tenants/tenant_list.html", {"tenants": []})
