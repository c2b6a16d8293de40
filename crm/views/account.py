"""Sign-up of a new company, the language switch and the user's own preferences (language, time zone)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from crm.access import safe_redirect_url
from crm.errors import DomainError
from crm.forms import LanguageForm, PreferencesForm, SignupForm
from crm.services.tenant import tenant_sign_up, tenant_verify_sign_up
from crm.services.user import user_preferences_save, user_set_language
from crm.web import apply_domain_error, form_status, tenant_required


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """A new company: generic answers (nothing says whether an email has an account), a rate limit per client
    address, and the company usable only once the emailed link is opened."""
    if not settings.SIGNUP_ENABLED:
        raise Http404
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None, initial={"language": request.LANGUAGE_CODE})
    if request.method == "POST":
        if is_ratelimited(request, group="crm:signup", key="ip", rate=settings.SIGNUP_RATE, increment=True):
            form.is_valid()
            form.add_error(None, _("Many sign-ups came from your network just now. Please try again later."))
            return render(request, "registration/signup.html", {"form": form}, status=429)
        if form.is_valid():
            data = form.cleaned_data
            try:
                tenant_sign_up(
                    name=data["company"],
                    slug=data["slug"],
                    admin_email=data["admin_email"],
                    admin_password=data["password"],
                    admin_name=data["full_name"],
                    language=data["language"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return render(
                    request,
                    "registration/signup_sent.html",
                    {"email": data["admin_email"], "days": settings.SIGNUP_VERIFY_DAYS},
                )
    return render(request, "registration/signup.html", {"form": form}, status=422 if form.errors else 200)


@require_GET
def signup_verify(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: opens the company and logs its first administrator in (once)."""
    if not settings.SIGNUP_ENABLED:
        raise Http404
    try:
        admin, verified = tenant_verify_sign_up(token=token)
    except DomainError as exc:
        return render(request, "registration/signup_invalid.html", {"error": exc.message}, status=400)
    if not verified:
        messages.info(request, _("Your email is already confirmed. Log in."))
        return redirect("login")
    login(request, admin, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, _("Welcome! Your company %(name)s is ready.") % {"name": admin.tenant.name})
    return redirect("home")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    form = LanguageForm(request.POST)
    response = redirect(safe_redirect_url(request, request.POST.get("next"), "/"))
    if form.is_valid():
        language = form.cleaned_data["language"]
        if request.user.is_authenticated and request.user.tenant_id:
            user_set_language(user=request.user, language=language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


@tenant_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The user's own preferences: language and time zone."""
    user = request.user
    form = PreferencesForm(
        request.POST or None, tenant=request.tenant, initial={"language": user.language, "time_zone": user.time_zone}
    )
    if request.method == "POST" and form.is_valid():
        try:
            user_preferences_save(
                acting_user=user, language=form.cleaned_data["language"], time_zone=form.cleaned_data["time_zone"]
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            translation.activate(user.effective_language)
            messages.success(request, _("Your preferences are saved."))
            return redirect("preferences")
    return render(request, "crm/account/preferences.html", {"form": form}, status=form_status(form))
