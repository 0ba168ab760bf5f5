from django.contrib import admin
from django.urls import include, path

from entrabackup import views

admin.site.site_header = "entrabackup administration"
admin.site.site_title = "entrabackup"

urlpatterns = [
    path("", include("dashboard.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("tenants/", include("tenants.urls")),
    path("repositories/", include("repositories.urls")),
    path("jobs/", include("jobs.urls")),
    path("restore/", include("restore.urls")),
    path("audit-trail/", include("audittrail.urls")),
    path("admin/", admin.site.urls),
]
