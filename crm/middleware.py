"""Request-wide context: the tenant, its time zone, the user's language, and htmx-aware login redirects."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import Resolver404, resolve
from django.utils import timezone, translation

from .logs import log_user
from .services.two_factor import two_factor_enabled, two_factor_required
from .tenancy import OPERATOR_TENANT_SESSION_KEY, tenant_context


class TenantMiddleware:
    """Sets request.tenant from the logged-in user, serves the request in that tenant's context (the database shows
    only its rows, crm/tenancy.py) and activates the tenant's time zone and the user's language.

    An operator (a superuser, who belongs to no tenant) is served in the context of the company chosen in Django
    admin, or of none. Anonymous requests have no context: the pages that serve them set their own (sign-up, the
    public lead form) or touch no tenant data (login, password reset).

    Language precedence (DESIGN.md §6, no URL prefix so links are the same in every language): the user's own
    setting, then the tenant's, then what LocaleMiddleware found (the language cookie or the browser).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        context_tenant_id = None
        user = request.user
        log_user(user.pk if user.is_authenticated else None)
        if user.is_authenticated and user.tenant_id is not None:
            tenant = user.tenant
            if not tenant.is_active:
                # A suspended tenant's sessions end; nothing of it is served.
                logout(request)
                return self.get_response(request)
            request.tenant = tenant
            context_tenant_id = tenant.pk
            language = user.language or tenant.language or settings.LANGUAGE_CODE
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
            # Times read in the user's own zone (their company's unless they chose another).
            timezone.activate(user.tzinfo)
        else:
            if user.is_authenticated and user.is_superuser:
                context_tenant_id = request.session.get(OPERATOR_TENANT_SESSION_KEY)
            timezone.deactivate()
        with tenant_context(context_tenant_id):
            response = self.get_response(request)
        if request.tenant is not None:
            response.headers.setdefault("Content-Language", translation.get_language())
        # Leave no tenant's time zone behind on this thread for whatever it serves next.
        timezone.deactivate()
        return response


class HtmxLoginRedirectMiddleware:
    """An htmx request whose session expired gets HX-Redirect to the login page, never a login page in a fragment."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "htmx", False) and response.status_code == 302:
            login_url = resolve_url(settings.LOGIN_URL)
            location = response.headers.get("Location", "")
            if location.startswith(login_url):
                redirect = HttpResponse(status=204)
                redirect["HX-Redirect"] = location
                return redirect
        return response


class TwoFactorMiddleware:
    """A user who must use two-factor login (operators always, a company's admins when it requires it) reaches no
    page until this session is verified: without an authenticator they are sent to set one up, with one to enter a
    code. Logging out, switching language and the set-up itself stay open."""

    OPEN_URL_NAMES = frozenset(
        {"two_factor", "login_verify", "logout", "set_language", "healthz", "javascript-catalog"}
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if getattr(request, "api_token", None) is not None:
            # A personal API token is its own credential, made from a verified session.
            return self.get_response(request)
        if user.is_authenticated and not user.is_verified() and two_factor_required(user):
            try:
                url_name = resolve(request.path_info).url_name
            except Resolver404:
                url_name = None
            if url_name not in self.OPEN_URL_NAMES:
                target = resolve_url("login_verify" if two_factor_enabled(user) else "two_factor")
                if getattr(request, "htmx", False):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
        return self.get_response(request)
