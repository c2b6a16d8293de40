"""Money of quotes, contracts and receipts: amounts rounded half-up to their currency's minor unit, and amounts
written in Chinese capital numerals (大写金额) as Chinese business documents require."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# Digits after the decimal point of each currency the CRM knows (ISO 4217 minor units).
MINOR_UNITS = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}

# What the capital amount is counted in ("壹万元整" for yuan, "壹万美元整" for dollars).
CAPITAL_UNITS = {"CNY": "元", "USD": "美元", "EUR": "欧元", "HKD": "港元", "JPY": "日元"}

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ((3, "仟"), (2, "佰"), (1, "拾"), (0, ""))
# Groups of four digits: units, 万, 亿, 万亿 (up to 9,999,999,999,999,999.99).
GROUPS = ("", "万", "亿", "万亿")


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency`: Decimal("0.01") for yuan, Decimal("1") for yen."""
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to the minor unit of `currency` (0.005 yuan → 0.01, 0.5 yen → 1)."""
    return Decimal(amount).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def _group_words(number: int) -> str:
    """0 < number < 10000 in capitals; a run of zeros inside reads as one 零, zeros at the end are not read."""
    words, pending_zero = "", False
    for power, place in PLACES:
        digit = number // 10**power % 10
        if digit == 0:
            pending_zero = bool(words)
            continue
        if pending_zero:
            words += "零"
            pending_zero = False
        words += DIGITS[digit] + place
    return words


def _integer_words(number: int) -> str:
    groups = []
    while number:
        groups.append(number % 10000)
        number //= 10000
    if len(groups) > len(GROUPS):
        raise ValueError("Amount too large to write in capitals.")
    words, pending_zero = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(words)
            continue
        # 壹万零伍佰, 壹亿零壹万: a group after a higher one that starts with a zero (or follows an empty group).
        if words and (pending_zero or group < 1000):
            words += "零"
        words += _group_words(group) + GROUPS[index]
        pending_zero = False
    return words


def amount_in_capitals(amount: Decimal, currency: str = "CNY") -> str:
    """`amount` in Chinese capital numerals, rounded half-up to fen first: 12300 → 壹万贰仟叁佰元整,
    1680.32 → 壹仟陆佰捌拾元零叁角贰分, 0.05 → 伍分, 0 → 零元整, -5 → 负伍元整.

    The rules of the payment-settlement regulations (支付结算办法): 整 after a whole amount and after 角, never
    after 分; one 零 for a run of zeros inside the figure; a 零 before 角 when the yuan digit is 0, and before 分
    when there are yuan but no 角. Currencies without fractions (yen) are rounded to whole units."""
    unit = CAPITAL_UNITS.get(currency, "元")
    amount = round_money(Decimal(amount), currency if currency in MINOR_UNITS else "CNY")
    sign = "负" if amount < 0 else ""
    cents = int(abs(amount) * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    words = _integer_words(yuan) + unit if yuan else ""
    if jiao == 0 and fen == 0:
        return sign + (words or "零" + unit) + "整"
    if yuan and (yuan % 10 == 0 or jiao == 0):
        words += "零"
    if jiao:
        words += DIGITS[jiao] + "角"
    words += DIGITS[fen] + "分" if fen else "整"
    return sign + words
