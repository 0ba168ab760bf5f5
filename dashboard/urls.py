from django.urls import path

from dashboard import views

# No namespace: the dashboard is the site's home, named "dashboard" (LOGIN_REDIRECT_URL, the top bar).
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
