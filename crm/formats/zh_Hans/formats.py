"""Simplified Chinese formats: Django's, with amounts grouped by thousands (¥156,000.00), as Chinese business
documents, banks and invoices write them; Django's own zh_Hans leaves numbers ungrouped."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
