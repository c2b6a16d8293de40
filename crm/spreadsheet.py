"""Cells of the CSV and Excel files the CRM writes, made safe to open in a spreadsheet.

A spreadsheet evaluates a cell that starts with `=`, `+`, `-` or `@` (and some read a leading tab or carriage
return the same way), so a customer named `=HYPERLINK(…)` or `+cmd|' /C calc'!A0` would run when a colleague opens
an export. Every file the CRM writes for people to open — the customer export, the rejected rows of an import —
passes each cell through `neutralise`, the one function that decides.
"""

from __future__ import annotations

import re

# Starts a spreadsheet reads as a formula (or that hide one behind a control character).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# A plain number, signed or not ("-5", "+86", "3.5", "-1e3"): shown as a number, never evaluated as a formula.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(value: str) -> str:
    """`value` with a leading apostrophe when a spreadsheet would evaluate it: it starts with =, +, -, @, a tab or
    a line break and is not a plain number. "-2+3", "+cmd|…" and "-wx" get the apostrophe; "-5", "+8613812345678"
    and "3.14" do not."""
    if value and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
