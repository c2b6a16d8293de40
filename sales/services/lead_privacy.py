"""A lead's personal data (个人信息保护法): outside the leads a user owns, its phone, email and WeChat id are masked
(customers.normalize.mask, as on customers) until revealed; each reveal goes to the one reveal log and counts
against the one daily cap (customers.services.privacy.reveals_log)."""

from __future__ import annotations

from collections.abc import Iterable

from crm.models import User
from customers.normalize import mask
from customers.services.privacy import RevealRefused, display_value, reveals_log
from sales.access import sees_lead_personal_data
from sales.models import Lead

LEAD_REVEAL_FIELDS = ("phone", "email", "wechat")

__all__ = ["LEAD_REVEAL_FIELDS", "RevealRefused", "lead_masked", "lead_personal_data_reveal"]


def lead_masked(lead: Lead) -> dict[str, str]:
    """The lead's phone, email and WeChat id as those who may not see them see them."""
    return {f: mask(f, getattr(lead, f) or "") for f in LEAD_REVEAL_FIELDS}


def lead_personal_data_reveal(*, user: User, lead: Lead, fields: Iterable[str]) -> dict[str, str]:
    """The unmasked values of `fields` of `lead` (which the caller got through get_lead_for_user). On a lead the user
    does not own, the reveal is logged and capped; over the cap, RevealRefused with nothing revealed or logged."""
    fields = [f for f in fields if f in LEAD_REVEAL_FIELDS and getattr(lead, f)]
    if fields and not sees_lead_personal_data(user, lead):
        reveals_log(user=user, fields=fields, lead_id=lead.pk)
    return {f: display_value(lead, f) for f in fields}
