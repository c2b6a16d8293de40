"""Phone numbers: one normalization (E.164) for customers', contacts', leads' and users' phones, and their display."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers


def normalize_phone(value: str, region: str = "CN") -> str | None:
    """E.164 of a valid phone number (+8613812345678), or None when it is not one.

    Accepts what offices type: spaces, dashes, full-width digits, +86 / 86 / 0086 prefixes."""
    raw = unicodedata.normalize("NFKC", value or "").strip()
    if not raw:
        return None
    digits = re.sub(r"[^\d+]", "", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    # "8613812345678": an 86 country code written without the plus.
    if region == "CN" and not digits.startswith("+") and digits.startswith("86") and len(digits) == 13:
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """A stored E.164 number for display (+86 138 1234 5678)."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def is_mobile(e164: str) -> bool:
    """Whether a stored E.164 number can take an SMS: a mobile number (or one its plan does not tell apart)."""
    try:
        number = phonenumbers.parse(e164 or "", None)
    except phonenumbers.NumberParseException:
        return False
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in kinds
