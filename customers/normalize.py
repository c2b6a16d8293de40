"""Normalization of identifiers (dedup, 防撞单) and of names for search (pinyin, initials)."""

from __future__ import annotations

import functools
import re
import unicodedata

from pypinyin import Style, lazy_pinyin
from pypinyin.seg.simpleseg import seg as _pinyin_words

# Phones are normalized in crm (users have phones too); customers' code imports them from here as before.
from crm.phones import format_phone, normalize_phone  # noqa: F401

# Legal-form suffixes folded away when comparing company names ("杭州云帆科技有限公司" = "杭州云帆科技").
COMPANY_SUFFIXES = [
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "分公司",
    "公司",
    "coltd",
    "co",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llc",
    "corp",
    "corporation",
    "gmbh",
]
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def nfkc(value: str) -> str:
    """Full-width digits and letters to half-width, compatibility forms folded (１３８ → 138)."""
    return unicodedata.normalize("NFKC", value or "").strip()


def mask_phone(e164: str) -> str:
    """138****5678: the pool's masked view."""
    digits = re.sub(r"\D", "", e164 or "")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) < 7:
        return "****"
    return f"{digits[:3]}****{digits[-4:]}"


def mask_email(email: str) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_wechat(wechat: str) -> str:
    """wx***na: the first two and last two characters of a WeChat id (the first one only of a short id)."""
    if len(wechat) < 6:
        return f"{wechat[:1]}***"
    return f"{wechat[:2]}***{wechat[-2:]}"


def mask(kind: str, value: str) -> str:
    """A personal field as shown to those who may not see it (the pool, others' customers and leads, exports):
    phones like 138****5678, emails like z***@example.com, WeChat ids like wx***na. One helper for every place that
    masks."""
    if not value:
        return ""
    if kind == "email":
        return mask_email(value)
    if kind == "wechat":
        return mask_wechat(value)
    return mask_phone(value)


def normalize_email(value: str) -> str:
    return nfkc(value).lower()


def normalize_company_name(value: str) -> str:
    """Company name for comparison: NFKC, lowercase, no spaces or punctuation, legal-form suffix folded."""
    name = _NON_WORD.sub("", nfkc(value).lower())
    # Fold repeatedly: "XX科技有限公司 Co., Ltd." → "xx科技".
    changed = True
    while changed and name:
        changed = False
        for suffix in COMPANY_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                changed = True
                break
    return name


def normalize_credit_code(value: str) -> str:
    return _NON_WORD.sub("", nfkc(value).upper())


def _as_is(chars: str) -> list[str]:
    return list(chars)


@functools.lru_cache(maxsize=65536)
def _word_pinyin(word: str) -> tuple[str, str]:
    """One word of pypinyin's own cutting (a phrase of its dictionary, one character, or a run without pinyin):
    its syllables and their first letters, joined. Cached: names are made of few words (cities, 有限公司, trades)."""
    syllables = "".join(s for s in lazy_pinyin(word, errors=_as_is) if s.strip())
    initials = "".join(s[0] for s in lazy_pinyin(word, style=Style.FIRST_LETTER, errors=_as_is) if s.strip())
    return syllables, initials


def pinyin_forms(name: str) -> tuple[str, str]:
    """('zhangsan', 'zs') for 张三; non-Chinese characters are kept, lowercased. The name is cut into words as
    pypinyin cuts it (so 重庆 reads chongqing, 银行 yinhang) and each word's forms come from a cache: the same result as
    converting the whole name at once, for a fraction of the time over an import's thousands of names."""
    words = [_word_pinyin(word) for word in _pinyin_words(nfkc(name))]
    full = _NON_WORD.sub("", "".join(w[0] for w in words).lower())
    initials = _NON_WORD.sub("", "".join(w[1] for w in words).lower())
    return full[:600], initials[:200]


_LUNAR_MONTHS = {"正": 1, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_LUNAR_MONTHS.update({"十一": 11, "冬": 11, "十二": 12, "腊": 12})
_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_LUNAR_NUMERIC = re.compile(r"^(?:农历|阴历|L)?\s*(闰)?\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$", re.IGNORECASE)
_LUNAR_WORDS = re.compile(r"^(?:农历|阴历)?\s*(闰)?\s*(正|一|二|三|四|五|六|七|八|九|十|十一|十二|冬|腊)月\s*(.+)$")


def _lunar_day_words(text: str) -> int | None:
    """初一…初十, 十一…十九, 二十, 廿一…廿九, 三十 (and 二十一… spelled out)."""
    text = text.removesuffix("日")
    if text.startswith("初") and text[1:] in _DIGITS:
        return _DIGITS[text[1:]]
    if text == "初十" or text == "十":
        return 10
    if text == "二十":
        return 20
    if text == "三十":
        return 30
    for prefix, tens in (("十", 10), ("廿", 20), ("二十", 20)):
        if text.startswith(prefix) and text[len(prefix) :] in _DIGITS:
            return tens + _DIGITS[text[len(prefix) :]]
    return None


def parse_lunar_birthday(value: str) -> tuple[int, int, bool] | None:
    """(month, day, leap) of a lunar birthday written as 八月十五, 农历闰四月初八, 腊月廿三, 8-15, 闰4/8 or L8.15; None when
    it is not one (month 1–12, day 1–30)."""
    text = nfkc(value).strip().replace(" ", "")
    match = _LUNAR_NUMERIC.match(text)
    if match:
        leap, month, day = bool(match.group(1)), int(match.group(2)), int(match.group(3))
    else:
        match = _LUNAR_WORDS.match(text)
        if not match:
            return None
        leap, month, day = bool(match.group(1)), _LUNAR_MONTHS[match.group(2)], _lunar_day_words(match.group(3))
        if day is None:
            return None
    if not (1 <= month <= 12 and 1 <= day <= 30):
        return None
    return month, day, leap
