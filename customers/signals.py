"""Signals through which later apps follow changes of customer data without `customers` importing them."""

from django.dispatch import Signal

# An administrator mapped a free-text value to a list entry (`tenant`, `kind`, `from_value`, `to_value`): a later
# app updates its own records that carry `kind` in one statement and returns how many it changed.
choice_value_mapped = Signal()
