from django.urls import path

from approvals import views

app_name = "approvals"
urlpatterns = [
    path("", views.approval_list, name="approval_list"),
    path("<int:pk>/", views.approval_detail, name="approval_detail"),
    path("<int:pk>/approve/", views.approval_approve, name="approval_approve"),
    path("<int:pk>/deny/", views.approval_deny, name="approval_deny"),
    path("<int:pk>/withdraw/", views.approval_withdraw, name="approval_withdraw"),
    path("switches/", views.switch_list, name="switch_list"),
]
