from django.urls import path

from jobs import session_views, views

app_name = "jobs"
urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("add/", views.job_add, name="job_add"),
    path("<int:pk>/run/", views.job_run, name="job_run"),
    path("<int:pk>/edit/", views.job_edit, name="job_edit"),
    path("<int:pk>/remove/", views.job_remove, name="job_remove"),
    path("logs/<int:pk>/edit/", views.log_job_edit, name="log_job_edit"),
    path("logs/<int:pk>/remove/", views.log_job_remove, name="log_job_remove"),
    path("sessions/", session_views.session_list, name="session_list"),
    path("sessions/<str:kind>/<int:pk>/<str:action>/", session_views.session_action, name="session_action"),
    path("sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path("sessions/<int:pk>/cancel/", views.session_cancel, name="session_cancel"),
    path("logs/", views.log_list, name="log_list"),
    path("logs/sessions/<int:pk>/", views.log_session_detail, name="log_session_detail"),
]
