"""Phone normalization: the fast recognition of Chinese mobiles gives phonenumbers' own answer for every input."""

from __future__ import annotations

import random
import re
import unicodedata

import phonenumbers
import pytest

from crm.phones import normalize_phone


def library_answer(value: str, region: str = "CN") -> str | None:
    """normalize_phone as it was before the fast path: phonenumbers parses and validates every number."""
    digits = re.sub(r"[^\d+]", "", unicodedata.normalize("NFKC", value or "").strip())
    if not digits:
        return None
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if region == "CN" and not digits.startswith("+") and digits.startswith("86") and len(digits) == 13:
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def spellings(national: str) -> list[str]:
    full_width = national.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return [
        national,
        f"+86{national}",
        f"86{national}",
        f"0086 {national}",
        f"+86-{national[:3]}-{national[3:7]}-{national[7:]}",
        f"{national[:3]} {national[3:7]} {national[7:]}",
        full_width,
        f"+1{national}",
        f"0{national}",
    ]


def test_every_leading_four_digits_and_length_agrees_with_the_library():
    rng = random.Random(7)
    checked = 0
    for prefix in range(1000, 2000):
        for length in (10, 11, 12):
            tail = "".join(rng.choice("0123456789") for _ in range(length - 4))
            for value in spellings(f"{prefix}{tail}"):
                assert normalize_phone(value) == library_answer(value), value
                checked += 1
    assert checked == 1000 * 3 * 9


@pytest.mark.parametrize(
    "value",
    [
        "010-12345678",
        "0571 8888 6666",
        "+86 21 6666 8888",
        "12345",
        "",
        "  ",
        "138",
        "+44 20 7946 0958",
        "٠١٣٨١٢٣٤٥٦٧٨",
        "13812345678 转 801",
        "1795113812345678",
        "11795001381234",
        "+8613812345678",
        "8613812345678",
    ],
)
def test_other_numbers_agree_with_the_library(value):
    assert normalize_phone(value) == library_answer(value)
    assert normalize_phone(value, "US") == library_answer(value, "US")
