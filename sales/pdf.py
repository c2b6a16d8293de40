"""The customer-facing PDFs of a quote and of a contract, rendered by WeasyPrint from templates with a print
stylesheet; Chinese text in Noto Sans CJK (fonts-noto-cjk, installed by scripts/system-deps.sh), as the reports'
PDFs. The company's logo is embedded as a data: URI and nothing else is ever fetched (local_only_fetcher)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher

from crm.selectors.tenant import logo_data_uri
from sales.models import Contract, Instalment, Quote, QuoteLine
from sales.money import amount_in_capitals

PRINT_CSS = Path(settings.BASE_DIR) / "static" / "css" / "quote_print.css"

# Extra options of WeasyPrint's write_pdf (the tests read the text of an uncompressed PDF).
PDF_OPTIONS: dict = {}


def local_only_fetcher() -> URLFetcher:
    """WeasyPrint's fetcher for our PDFs: data: URIs (the logo) only; any other address (the network, a file) is
    refused, so a document can never make the server fetch something."""
    return URLFetcher(allowed_protocols=("data",), allow_redirects=False)


def _print(html: str) -> bytes:
    return HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=local_only_fetcher()).write_pdf(
        stylesheets=[CSS(filename=str(PRINT_CSS))], **PDF_OPTIONS
    )


def quote_html(quote: Quote) -> str:
    """The quote as the customer receives it: the company's logo and name, the quote's number and version, the
    lines, the totals in figures and in Chinese capitals (大写金额), the validity and the terms. In the tenant's
    language."""
    lines = list(QuoteLine.objects.filter(quote=quote).order_by("position", "pk"))
    tenant = quote.tenant
    with translation.override(tenant.language or settings.LANGUAGE_CODE):
        return render_to_string(
            "sales/quotes/pdf.html",
            {
                "quote": quote,
                "lines": lines,
                "tenant": tenant,
                "logo": logo_data_uri(tenant),
                "capitals": amount_in_capitals(quote.total, quote.currency),
                "issued_on": timezone.localtime(quote.sent_at or quote.created_at, tenant.tzinfo).date(),
            },
        )


def quote_pdf(quote: Quote) -> bytes:
    """The quote's HTML (quote_html) printed by WeasyPrint."""
    return _print(quote_html(quote))


def quote_filename(quote: Quote) -> str:
    return f"{quote.number}-v{quote.version}.pdf"


def contract_html(contract: Contract) -> str:
    """The contract's summary sheet: the company's logo and name, the number, the parties, the title, the amount
    in figures and in Chinese capitals, the dates and the payment plan. In the tenant's language."""
    tenant = contract.tenant
    instalments = list(Instalment.objects.filter(contract=contract).order_by("due_on", "pk"))
    with translation.override(tenant.language or settings.LANGUAGE_CODE):
        return render_to_string(
            "sales/contracts/pdf.html",
            {
                "contract": contract,
                "instalments": instalments,
                "tenant": tenant,
                "logo": logo_data_uri(tenant),
                "capitals": amount_in_capitals(contract.amount, contract.currency),
            },
        )


def contract_pdf(contract: Contract) -> bytes:
    """The contract's HTML (contract_html) printed by WeasyPrint."""
    return _print(contract_html(contract))


def contract_filename(contract: Contract) -> str:
    return f"{contract.number}.pdf"
