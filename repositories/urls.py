from django.urls import path

from repositories import views

app_name = "repositories"
urlpatterns = [
    path("", views.repository_list, name="repository_list"),
    path("add/", views.repository_add, name="repository_add"),
    path("<int:pk>/connection/", views.repository_connection, name="repository_connection"),
    path("<int:pk>/check/", views.repository_check, name="repository_check"),
    path("<int:pk>/edit/", views.repository_edit, name="repository_edit"),
    path("<int:pk>/remove/", views.repository_remove, name="repository_remove"),
    path("logs/add/", views.log_repository_add, name="log_repository_add"),
    path("logs/<int:pk>/edit/", views.log_repository_edit, name="log_repository_edit"),
    path("logs/<int:pk>/remove/", views.log_repository_remove, name="log_repository_remove"),
    path("logs/<int:pk>/check/", views.log_repository_check, name="log_repository_check"),
]
