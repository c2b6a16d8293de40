"""What keeps robots off the public forms (the lead form, the ticket form): a honeypot field nobody sees, and a
signed fill-time token (when the form was shown, for which company and which form) so a submission faster than a
person can type is refused. The rate limit per address is django-ratelimit on crm.access.client_ip."""

from __future__ import annotations

from django.core import signing
from django.utils import timezone

# The honeypot's field name: a field a person never sees (static/css/public_form.css hides it) nor fills.
HONEYPOT = "homepage"


def _salt(purpose: str) -> str:
    return "sales.public-lead-form" if purpose == "lead" else f"crm.public-form.{purpose}"


def issue_token(tenant_id: int, at: float | None = None, *, purpose: str = "lead") -> str:
    """A signed note of when the form was shown, and for which tenant: the minimum fill time is measured from it."""
    stamp = timezone.now().timestamp() if at is None else at
    return signing.dumps({"t": tenant_id, "at": round(stamp, 3)}, salt=_salt(purpose))


def read_token(token: str, tenant_id: int, *, purpose: str = "lead") -> float | None:
    """When the form was shown, or None for a missing, forged or other tenant's (or other form's) token."""
    try:
        payload = signing.loads(token or "", salt=_salt(purpose))
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("t") != tenant_id:
        return None
    try:
        return float(payload["at"])
    except (KeyError, TypeError, ValueError):
        return None
