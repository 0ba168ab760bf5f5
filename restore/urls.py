from django.urls import path

from restore import views

app_name = "restore"
urlpatterns = [
    path("", views.restore_index, name="restore_index"),
    path("logs/", views.log_index, name="log_index"),
    path("tenants/<int:tenant_pk>/points/", views.restore_point_list, name="restore_point_list"),
    path("tenants/<int:tenant_pk>/compare/", views.compare_view, name="compare_view"),
    path("tenants/<int:tenant_pk>/compare/export/", views.compare_export, name="compare_export"),
    path("tenants/<int:tenant_pk>/objects/", views.object_explorer, name="object_explorer"),
    path("tenants/<int:tenant_pk>/objects/<str:object_type>/<str:object_id>/", views.object_detail, name="object_detail"),
]
