from django.urls import path

from restore import views

app_name = "restore"
urlpatterns = [
    path("", views.restore_index, name="restore_index"),
    path("logs/", views.log_index, name="log_index"),
]
