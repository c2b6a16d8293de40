"""The REST API's authentication, permissions and rate limit (Django REST framework classes)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions, throttling

from crm.access import is_tenant_user


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """The personal token that ApiTokenMiddleware resolved; a bearer value it could not resolve is refused."""

    keyword = "Bearer"

    def authenticate(self, request):
        django_request = request._request
        if getattr(django_request, "api_token_invalid", False):
            raise exceptions.AuthenticationFailed(_("The API token is unknown, expired or revoked."))
        token = getattr(django_request, "api_token", None)
        if token is None:
            return None
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class IsTenantUser(permissions.BasePermission):
    """An active user of an active company; a token of scope `read` only reads."""

    message = _("Only users of a company may use the API.")

    def has_permission(self, request, view) -> bool:
        if not is_tenant_user(request.user) or getattr(request._request, "tenant", None) is None:
            return False
        token = request.auth if hasattr(request.auth, "can_write") else None
        if token is not None and request.method not in permissions.SAFE_METHODS and not token.can_write:
            self.message = _("This token may only read: make a token with the read and write scope.")
            return False
        return True


class ApiTokenRateThrottle(throttling.SimpleRateThrottle):
    """A request budget per token (per user for session requests), API_RATE_LIMIT (e.g. "600/min"); beyond it the
    API answers 429 with Retry-After."""

    scope = "api"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view) -> str | None:
        token = request.auth if hasattr(request.auth, "can_write") else None
        if token is not None:
            ident = f"token:{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
