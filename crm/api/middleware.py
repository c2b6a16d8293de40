"""Bearer tokens on API requests, resolved before the tenant middleware so that an API request gets exactly what a
page request gets: the user's tenant context for every statement, their time zone and their language."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from .services.token import token_authenticate

API_PATH_PREFIX = "/api/"


def bearer_value(request: HttpRequest) -> str | None:
    """The value of an `Authorization: Bearer …` header, or None when there is none."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


class ApiTokenMiddleware:
    """On /api/ requests with a bearer token: a usable token makes its user the request's user and sets
    `request.api_token`; any other bearer value sets `request.api_token_invalid`, which the API answers with 401
    (crm.api.authentication). Placed after the session and two-factor middleware and before TenantMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.api_token = None
        request.api_token_invalid = False
        if request.path_info.startswith(API_PATH_PREFIX):
            raw = bearer_value(request)
            if raw is not None:
                token = token_authenticate(raw)
                if token is None:
                    request.api_token_invalid = True
                else:
                    request.api_token = token
                    request.user = token.user
        return self.get_response(request)
