from django.urls import path

from audittrail import views

app_name = "audittrail"
urlpatterns = [
    path("", views.entry_list, name="entry_list"),
    path("export/", views.entry_export, name="entry_export"),
    path("verify/", views.entry_verify, name="entry_verify"),
]
