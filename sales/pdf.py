"""The customer-facing PDF of a quote, rendered by WeasyPrint from a template with a print stylesheet; Chinese text
in Noto Sans CJK (fonts-noto-cjk, installed by scripts/system-deps.sh), as the reports' PDFs."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from weasyprint import CSS, HTML

from sales.models import Quote, QuoteLine
from sales.money import amount_in_capitals

PRINT_CSS = Path(settings.BASE_DIR) / "static" / "css" / "quote_print.css"

# Extra options of WeasyPrint's write_pdf (the tests read the text of an uncompressed PDF).
PDF_OPTIONS: dict = {}


def quote_html(quote: Quote) -> str:
    """The quote as the customer receives it: the company's name, the quote's number and version, the lines, the
    totals in figures and in Chinese capitals (大写金额), the validity and the terms. In the tenant's language."""
    lines = list(QuoteLine.objects.filter(quote=quote).order_by("position", "pk"))
    tenant = quote.tenant
    with translation.override(tenant.language or settings.LANGUAGE_CODE):
        return render_to_string(
            "sales/quotes/pdf.html",
            {
                "quote": quote,
                "lines": lines,
                "tenant": tenant,
                "capitals": amount_in_capitals(quote.total, quote.currency),
                "issued_on": timezone.localtime(quote.sent_at or quote.created_at, tenant.tzinfo).date(),
            },
        )


def quote_pdf(quote: Quote) -> bytes:
    """The quote's HTML (quote_html) printed by WeasyPrint."""
    return HTML(string=quote_html(quote), base_url=str(settings.BASE_DIR)).write_pdf(
        stylesheets=[CSS(filename=str(PRINT_CSS))], **PDF_OPTIONS
    )


def quote_filename(quote: Quote) -> str:
    return f"{quote.number}-v{quote.version}.pdf"
