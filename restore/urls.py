from django.urls import path

from restore import restore_views, views

app_name = "restore"
urlpatterns = [
    path("", views.restore_index, name="restore_index"),
    path("logs/", views.log_index, name="log_index"),
    path("tenants/<int:tenant_pk>/logs/", views.log_explorer, name="log_explorer"),
    path("tenants/<int:tenant_pk>/logs/record/", views.log_record_detail, name="log_record_detail"),
    path("tenants/<int:tenant_pk>/logs/export/", views.log_export, name="log_export"),
    path("tenants/<int:tenant_pk>/logs/revert/", views.log_revert, name="log_revert"),
    path("tenants/<int:tenant_pk>/points/", views.restore_point_list, name="restore_point_list"),
    path("tenants/<int:tenant_pk>/compare/", views.compare_view, name="compare_view"),
    path("tenants/<int:tenant_pk>/compare/export/", views.compare_export, name="compare_export"),
    path("tenants/<int:tenant_pk>/objects/", views.object_explorer, name="object_explorer"),
    path("tenants/<int:tenant_pk>/objects/<str:object_type>/<str:object_id>/", views.object_detail, name="object_detail"),
    path("tenants/<int:tenant_pk>/plan/", restore_views.plan_create, name="plan_create"),
    path("tenants/<int:tenant_pk>/plan/from-audit/", restore_views.plan_from_audit, name="plan_from_audit"),
    path("plans/<int:pk>/", restore_views.plan_detail, name="plan_detail"),
    path("sessions/<int:pk>/", restore_views.restore_session_detail, name="restore_session_detail"),
    path("sessions/<int:pk>/cancel/", restore_views.restore_session_cancel, name="restore_session_cancel"),
    path("sessions/<int:pk>/passwords/", restore_views.restore_session_passwords, name="restore_session_passwords"),
]
