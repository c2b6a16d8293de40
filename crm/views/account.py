"""Sign-up of a new company and the language switch."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.access import safe_redirect_url
from crm.errors import DomainError
from crm.forms import LanguageForm, SignupForm
from crm.models import User
from crm.services.tenant import tenant_create
from crm.services.user import user_set_language
from crm.web import apply_domain_error


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.SIGNUP_ENABLED:
        raise Http404
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None, initial={"language": request.LANGUAGE_CODE})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant = tenant_create(
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
            admin = User.objects.get(tenant=tenant, email=data["admin_email"])
            login(request, admin, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your company %(name)s is ready.") % {"name": tenant.name})
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


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
