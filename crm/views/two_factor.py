"""Two-factor login: the code asked after the password, and the user's own set-up page."""

from __future__ import annotations

import base64
import time

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from crm.errors import DomainError
from crm.forms import LoginForm, TwoFactorCodeForm
from crm.models import User
from crm.services import two_factor
from crm.web import apply_domain_error, next_url

PENDING_SESSION_KEY = "crm_two_factor_pending"


class LoginView(auth_views.LoginView):
    """The password step. A user with two-factor login is not logged in yet: the session remembers who passed the
    password (for TWO_FACTOR_LOGIN_SECONDS) and the code page finishes the login."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.two_factor_enabled(user):
            return super().form_valid(form)
        self.request.session[PENDING_SESSION_KEY] = {
            "user_id": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": time.time(),
        }
        return redirect("login_verify")


def _pending(request: HttpRequest) -> tuple[User | None, dict]:
    """Who is between the password and the code: the pending login of this session, or a logged-in user whose
    session has not been verified yet (one that began before two-factor login was required)."""
    if request.user.is_authenticated:
        return request.user, {}
    data = request.session.get(PENDING_SESSION_KEY)
    if not data:
        return None, {}
    if time.time() - data.get("at", 0) > settings.TWO_FACTOR_LOGIN_SECONDS:
        request.session.pop(PENDING_SESSION_KEY, None)
        return None, {}
    return User.objects.filter(pk=data.get("user_id"), is_active=True).first(), data


def _locked_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(PENDING_SESSION_KEY, None)
    if request.user.is_authenticated:
        logout(request)
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)


@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """The code step. A wrong code counts as a failed login in django-axes (by email and address, like a wrong
    password), so code guessing locks out as password guessing does."""
    user, pending = _pending(request)
    if user is None:
        messages.info(request, _("Log in again: the time for entering the code ran out."))
        return redirect("login")
    if request.user.is_authenticated and request.user.is_verified():
        return redirect("home")
    credentials = {"username": user.email}
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST":
        if AxesProxyHandler.is_locked(request, credentials):
            return _locked_out(request)
        if form.is_valid():
            try:
                device = two_factor.two_factor_match(user=user, token=form.cleaned_data["token"])
            except DomainError as exc:
                device, refusal = None, exc.message
            else:
                refusal = _("That code is not right. Enter the 6-digit code your app shows now.")
            if device is not None:
                destination = pending.get("next") or next_url(request, settings.LOGIN_REDIRECT_URL)
                if not request.user.is_authenticated:
                    request.session.pop(PENDING_SESSION_KEY, None)
                    login(request, user, backend=pending["backend"])
                otp_login(request, device)
                if device.persistent_id.startswith("otp_static"):
                    messages.warning(
                        request,
                        _("You used a recovery code; %(count)s are left.")
                        % {"count": two_factor.recovery_codes_left(user)},
                    )
                return redirect(destination)
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            if AxesProxyHandler.is_locked(request, credentials):
                return _locked_out(request)
            form.add_error("token", refusal)
    return render(request, "registration/login_verify.html", {"form": form}, status=422 if form.errors else 200)


def _qr_context(device) -> dict:
    return {
        "device": device,
        # An SVG as a data: URL in an <img>: nothing inline for the Content-Security-Policy to refuse.
        "qr_data_uri": segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2),
        "secret": base64.b32encode(device.bin_key).decode(),
    }


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_view(request: HttpRequest) -> HttpResponse:
    """The user's own two-factor page: turn it on (QR code, first code, recovery codes shown once), make new recovery
    codes, or turn it off where it is not required."""
    user = request.user
    action = request.POST.get("action") if request.method == "POST" else None
    form = TwoFactorCodeForm(request.POST if action in ("confirm", "new_codes", "disable") else None)
    context = {
        "enabled": two_factor.two_factor_enabled(user),
        "required": two_factor.two_factor_required(user),
        "form": form,
    }
    try:
        if action == "start":
            context.update(_qr_context(two_factor.two_factor_start(user=user)))
        elif action in ("confirm", "new_codes", "disable") and form.is_valid():
            token = form.cleaned_data["token"]
            if action == "confirm":
                device, codes = two_factor.two_factor_confirm(user=user, token=token)
                otp_login(request, device)
                messages.success(request, _("Two-factor login is on."))
                return render(request, "crm/account/recovery_codes.html", {"codes": codes})
            if action == "new_codes":
                codes = two_factor.two_factor_new_recovery_codes(user=user, token=token)
                messages.success(request, _("New recovery codes made; the earlier ones no longer work."))
                return render(request, "crm/account/recovery_codes.html", {"codes": codes})
            two_factor.two_factor_disable(user=user, token=token)
            messages.success(request, _("Two-factor login is off."))
            return redirect("two_factor")
    except DomainError as exc:
        apply_domain_error(form, exc)
    if action == "confirm" or (not context["enabled"] and form.errors):
        device = two_factor.pending_device(user)
        if device is not None:
            context.update(_qr_context(device))
    if context["enabled"]:
        context["codes_left"] = two_factor.recovery_codes_left(user)
    return render(request, "crm/account/two_factor.html", context, status=422 if form.errors else 200)
