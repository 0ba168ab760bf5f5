from django.urls import path

from tenants import views

app_name = "tenants"
urlpatterns = [
    path("", views.tenant_list, name="tenant_list"),
    path("add/", views.tenant_add, name="tenant_add"),
    path("<int:pk>/", views.tenant_detail, name="tenant_detail"),
    path("<int:pk>/check/", views.tenant_check, name="tenant_check"),
    path("<int:pk>/credential/", views.tenant_credential, name="tenant_credential"),
    path("<int:pk>/connection/", views.tenant_connection, name="tenant_connection"),
    path("<int:pk>/certificate/", views.tenant_certificate, name="tenant_certificate"),
    path("<int:pk>/edit/", views.tenant_edit, name="tenant_edit"),
    path("<int:pk>/clone/", views.tenant_clone, name="tenant_clone"),
    path("<int:pk>/remove/", views.tenant_remove, name="tenant_remove"),
]
