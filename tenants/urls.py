from django.urls import path

from tenants import views

app_name = "tenants"
urlpatterns = [path("", views.tenant_list, name="tenant_list")]
