"""The login in two steps (password, then the authenticator's code) and the second-factor page."""

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, permission_required
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from accounts import second_factor
from accounts.errors import AccountError
from accounts.views import login_locked


class CodeForm(forms.Form):
    code = forms.CharField(max_length=12, label="Code from your authenticator app",
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "autofocus": True}))


class ResetForm(forms.Form):
    username = forms.CharField(max_length=150)


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    """Django's login; a user with a confirmed authenticator goes on to the code step, not yet logged in."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if second_factor.device_confirmed(user) is None:
            return super().form_valid(form)
        second_factor.login_pending_start(self.request, user, next_url=self.get_success_url())
        return redirect("accounts:login_code")


@login_not_required
@never_cache
def login_code(request):
    pending = second_factor.login_pending(request)
    if pending is None:
        messages.error(request, "Sign in with your password first (the code step lasts 5 minutes).")
        return redirect("accounts:login")
    user, next_url = pending
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if second_factor.login_locked_out(request, user):
            return login_locked(request, credentials={"username": user.get_username()})
        device = second_factor.login_code_check(request, user, form.cleaned_data["code"])
        if device is not None:
            login(request, user, backend=user.backend)
            otp_login(request, device)
            safe = url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure())
            return redirect(next_url if safe and next_url else "dashboard")
        form.add_error("code", "That code is not right. Type the current code from your authenticator app.")
    return render(request, "accounts/login_code.html", {"form": form, "username": user.get_username()})


@never_cache
def second_factor_page(request):
    device = second_factor.device_confirmed(request.user)
    context = {"device": device, "form": CodeForm(), "reset_form": ResetForm(),
               "can_reset": request.user.has_perm("accounts.change_user")}
    if device is None:
        enrolling = second_factor.device_for_enrolment(request.user)
        context.update(secret=second_factor.device_secret(enrolling), qr_svg=second_factor.device_qr_svg(enrolling))
    return render(request, "accounts/second_factor.html", context)


@require_POST
def second_factor_confirm(request):
    form = CodeForm(request.POST)
    try:
        if not form.is_valid():
            raise AccountError("Type the code your authenticator app shows.")
        device = second_factor.enrolment_confirm(user=request.user, code=form.cleaned_data["code"])
    except AccountError as exc:
        messages.error(request, str(exc))
    else:
        otp_login(request, device)
        messages.success(request, "Second factor on: from now on, signing in asks for a code.")
    return redirect("accounts:second_factor")


@require_POST
def second_factor_remove(request):
    form = CodeForm(request.POST)
    try:
        if not form.is_valid():
            raise AccountError("Type the code your authenticator app shows.")
        second_factor.second_factor_remove(user=request.user, code=form.cleaned_data["code"])
    except AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Second factor removed: signing in asks only for your password.")
    return redirect("accounts:second_factor")


@require_POST
@permission_required("accounts.change_user", raise_exception=True)
def second_factor_reset(request):
    form = ResetForm(request.POST)
    try:
        if not form.is_valid():
            raise AccountError("Give the user name whose second factor is reset.")
        removed = second_factor.second_factor_reset(username=form.cleaned_data["username"], by=request.user)
    except AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{form.cleaned_data['username']}: second factor reset ({removed} device(s) "
                                  "removed); they sign in with their password and may set it up again.")
    return redirect("accounts:second_factor")
