from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.channel_list, name="channel_list"),
    path("add/", views.channel_edit, name="channel_add"),
    path("<int:pk>/", views.channel_edit, name="channel_edit"),
    path("<int:pk>/test/", views.channel_test, name="channel_test"),
    path("settings/", views.settings_update, name="settings_update"),
]
