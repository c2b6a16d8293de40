"""The one rule that makes a cell safe to open in a spreadsheet (crm.spreadsheet.neutralise): every cell a
spreadsheet would evaluate gets a leading apostrophe, unless it is a plain number."""

import pytest

from crm.spreadsheet import neutralise


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("-", "'-"),
        ("1-2", "1-2"),
        ("@cmd", "'@cmd"),
        ("+cmd", "'+cmd"),
        ("-cmd", "'-cmd"),
        ("+", "'+"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-2+3", "'-2+3"),
        ("+1-2", "'+1-2"),
        ("-1e3", "-1e3"),
        ("+86 138 1234 5678", "'+86 138 1234 5678"),
        ("\n=1", "'\n=1"),
        ("+8613812345678", "+8613812345678"),
        ("-5", "-5"),
        ("3.14", "3.14"),
        ("张三", "张三"),
        ("", ""),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected
