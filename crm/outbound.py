"""Posting to other systems' addresses (webhooks, group robots): the SSRF check and a JSON POST that follows no
redirect."""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from crm.errors import DomainError

TIMEOUT_SECONDS = 10
RESPONSE_KEPT = 2000


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return []
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_public_url(url: str, *, field: str = "url") -> str:
    """The URL if the CRM may post to it: http(s), a host that resolves, and (unless the operator allows it with
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES) no private, loopback, link-local or reserved address. DomainError otherwise."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DomainError(_("Enter an http:// or https:// address."), field=field)
    if parts.username or parts.password:
        raise DomainError(_("Put no user name or password in the address."), field=field)
    addresses = _addresses(parts.hostname)
    if not addresses:
        raise DomainError(_("The host of this address cannot be found."), field=field)
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES and any(not address.is_global for address in addresses):
        raise DomainError(_("Webhooks cannot be sent to private or local network addresses."), field=field)
    return url


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: following it could lead into the private network."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, str]:
    """POST JSON to a checked public URL; returns the status and the start of the answer. Raises DomainError for
    a refused address and OSError for a network failure."""
    check_public_url(url)
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    # The scheme is http(s), checked just above.
    request = urllib.request.Request(  # noqa: S310
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "CRM/1", **(headers or {})},
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.read(RESPONSE_KEPT).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(RESPONSE_KEPT).decode(errors="replace")


def fetch_configured(
    url: str, *, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    """Call an address the operator configured (an SMS provider's API), following no redirect; returns the status
    and the start of the answer. No SSRF check: the address is the operator's, not a user's. Raises OSError for a
    network failure."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("Only http(s) addresses are called")
    # The scheme is http(s), checked just above.
    request = urllib.request.Request(  # noqa: S310
        url, data=data, method=method, headers={"User-Agent": "CRM/1", **(headers or {})}
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.read(RESPONSE_KEPT).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(RESPONSE_KEPT).decode(errors="replace")
