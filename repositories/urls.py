from django.urls import path

from repositories import views

app_name = "repositories"
urlpatterns = [path("", views.repository_list, name="repository_list")]
