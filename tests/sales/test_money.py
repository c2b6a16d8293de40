"""Money rounding per currency and amounts in Chinese capital numerals (大写金额)."""

from decimal import Decimal

import pytest

from sales.money import amount_in_capitals, round_money


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "零元整"),
        ("0.00", "零元整"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),
        ("11", "壹拾壹元整"),
        ("20", "贰拾元整"),
        ("100", "壹佰元整"),
        ("101", "壹佰零壹元整"),
        ("110", "壹佰壹拾元整"),
        ("1000", "壹仟元整"),
        ("1001", "壹仟零壹元整"),
        ("1010", "壹仟零壹拾元整"),
        ("1100", "壹仟壹佰元整"),
        ("10000", "壹万元整"),
        ("10001", "壹万零壹元整"),
        ("10500", "壹万零伍佰元整"),
        ("12300", "壹万贰仟叁佰元整"),
        ("12345", "壹万贰仟叁佰肆拾伍元整"),
        ("100000", "壹拾万元整"),
        ("105000", "壹拾万伍仟元整"),
        ("1000000", "壹佰万元整"),
        ("10000000", "壹仟万元整"),
        ("100000000", "壹亿元整"),
        ("100010000", "壹亿零壹万元整"),
        ("100001000", "壹亿零壹仟元整"),
        ("100000001", "壹亿零壹元整"),
        ("1000000010", "壹拾亿零壹拾元整"),
        ("120034005", "壹亿贰仟零叁万肆仟零伍元整"),
        ("1000000000000", "壹万亿元整"),
        ("9999999999999999", "玖仟玖佰玖拾玖万亿玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元整"),
        ("0.05", "伍分"),
        ("0.5", "伍角整"),
        ("0.55", "伍角伍分"),
        ("1.05", "壹元零伍分"),
        ("1.50", "壹元伍角整"),
        ("1.55", "壹元伍角伍分"),
        ("10.05", "壹拾元零伍分"),
        ("10.50", "壹拾元零伍角整"),
        ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
        ("107000.53", "壹拾万柒仟元零伍角叁分"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("1409.50", "壹仟肆佰零玖元伍角整"),
        ("-5", "负伍元整"),
        ("-0.5", "负伍角整"),
    ],
)
def test_amount_in_capitals(amount, words):
    assert amount_in_capitals(Decimal(amount)) == words


def test_capitals_round_half_up_to_fen_first():
    assert amount_in_capitals(Decimal("0.005")) == "壹分"
    assert amount_in_capitals(Decimal("0.004")) == "零元整"
    assert amount_in_capitals(Decimal("9.995")) == "壹拾元整"


def test_capitals_name_the_currency():
    assert amount_in_capitals(Decimal("12300"), "USD") == "壹万贰仟叁佰美元整"
    assert amount_in_capitals(Decimal("1500.4"), "JPY") == "壹仟伍佰日元整"


def test_capitals_refuse_what_they_cannot_write():
    with pytest.raises(ValueError, match="too large"):
        amount_in_capitals(Decimal("10000000000000000"))


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("1.005", "CNY", "1.01"),
        ("1.004", "CNY", "1.00"),
        ("2.675", "USD", "2.68"),
        ("-1.005", "CNY", "-1.01"),
        ("100.5", "JPY", "101"),
        ("100.4", "JPY", "100"),
    ],
)
def test_round_money_half_up_per_minor_unit(amount, currency, rounded):
    assert round_money(Decimal(amount), currency) == Decimal(rounded)
    assert str(round_money(Decimal(amount), currency)) == rounded
