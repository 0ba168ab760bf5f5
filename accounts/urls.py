from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import second_factor_views

app_name = "accounts"

urlpatterns = [
    path("login/", second_factor_views.LoginView.as_view(), name="login"),
    path("login/code/", second_factor_views.login_code, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(
        template_name="accounts/password_change.html", success_url=reverse_lazy("accounts:password_change_done")), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(
        template_name="accounts/password_change_done.html"), name="password_change_done"),
    path("second-factor/", second_factor_views.second_factor_page, name="second_factor"),
    path("second-factor/confirm/", second_factor_views.second_factor_confirm, name="second_factor_confirm"),
    path("second-factor/remove/", second_factor_views.second_factor_remove, name="second_factor_remove"),
    path("second-factor/reset/", second_factor_views.second_factor_reset, name="second_factor_reset"),
]
