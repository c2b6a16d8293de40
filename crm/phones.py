"""Phone numbers: one normalization (E.164) for customers', contacts', leads' and users' phones, and their display."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import PhoneMetadata

_NOT_DIALLED = re.compile(r"[^\d+]")


class _Mobiles:
    """A region's mobile numbers as phonenumbers' own metadata describes them, to recognise the common case without
    the library's general parser (an import reads a hundred thousand of them): an all-ASCII-digit national number
    that the region's general and mobile patterns both accept, and that no national or carrier prefix of the region
    could be stripped from, is one `phonenumbers.parse` leaves as it is and `is_valid_number` accepts. Anything else
    goes through the library."""

    def __init__(self, region: str):
        metadata = PhoneMetadata.metadata_for_region(region)
        self.prefix = f"+{metadata.country_code}"
        self.descs = [
            (re.compile(desc.national_number_pattern), set(desc.possible_length))
            for desc in (metadata.general_desc, metadata.mobile)
        ]
        # What the parser may strip from the front: an international dialling prefix, a national or carrier prefix.
        self.strippable = [
            re.compile(pattern)
            for pattern in (
                metadata.international_prefix,
                metadata.national_prefix_for_parsing,
                metadata.national_prefix,
            )
            if pattern
        ]

    def e164(self, digits: str) -> str | None:
        national = digits.removeprefix(self.prefix)
        if national == digits and digits.startswith("+"):
            return None
        if not (national.isascii() and national.isdigit()) or any(p.match(national) for p in self.strippable):
            return None
        for pattern, lengths in self.descs:
            if (lengths and len(national) not in lengths) or not pattern.fullmatch(national):
                return None
        return self.prefix + national


_CN_MOBILES = _Mobiles("CN")


def normalize_phone(value: str, region: str = "CN") -> str | None:
    """E.164 of a valid phone number (+8613812345678), or None when it is not one.

    Accepts what offices type: spaces, dashes, full-width digits, +86 / 86 / 0086 prefixes. A Chinese mobile
    number is recognised from the library's metadata directly (the same answer, a fraction of the time); every
    other number is parsed and validated by phonenumbers."""
    raw = unicodedata.normalize("NFKC", value or "").strip()
    if not raw:
        return None
    digits = _NOT_DIALLED.sub("", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    # "8613812345678": an 86 country code written without the plus.
    if region == "CN" and not digits.startswith("+") and digits.startswith("86") and len(digits) == 13:
        digits = "+" + digits
    if region == "CN":
        fast = _CN_MOBILES.e164(digits)
        if fast is not None:
            return fast
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
