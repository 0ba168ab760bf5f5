from django.urls import path

from restore import views

app_name = "restore"
urlpatterns = [
    path("", views.restore_index, name="restore_index"),
    path("logs/", views.log_index, name="log_index"),
    path("tenants/<int:tenant_pk>/logs/", views.log_explorer, name="log_explorer"),
    path("tenants/<int:tenant_pk>/logs/record/", views.log_record_detail, name="log_record_detail"),
    path("tenants/<int:tenant_pk>/logs/export/", views.log_export, name="log_export"),
    path("tenants/<int:tenant_pk>/points/", views.restore_point_list, name="restore_point_list"),
    path("tenants/<int:tenant_pk>/objects/", views.object_explorer, name="object_explorer"),
    path("tenants/<int:tenant_pk>/objects/<str:object_type>/<str:object_id>/", views.object_detail, name="object_detail"),
]
