"""Dashboards as PDF, rendered by WeasyPrint from the same partial templates as the page with a print stylesheet;
Chinese text in Noto Sans CJK (fonts-noto-cjk, installed by scripts/system-deps.sh); charts drawn as SVG on the
server, no browser involved."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import CSS, HTML

from reports.selectors.dashboard import DashboardData, pdf_chart

PRINT_CSS = Path(settings.BASE_DIR) / "static" / "css" / "reports_print.css"

# Extra options of WeasyPrint's write_pdf (the tests read the fonts of an uncompressed PDF).
PDF_OPTIONS: dict = {}


def dashboard_pdf(data: DashboardData, *, user) -> bytes:
    """The dashboard in `data` (already computed for `user`) as a PDF: the tenant's name and the filters on the
    cover, then the chart and the tables."""
    html = render_to_string(
        "reports/pdf.html",
        {
            "data": data,
            "scope": data.scope,
            "report": data.report,
            "svg": pdf_chart(data),
            "tenant": user.tenant,
            "viewer": user,
            "generated_at": timezone.localtime(timezone.now(), user.tenant.tzinfo),
            "pdf": True,
        },
    )
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(
        stylesheets=[CSS(filename=str(PRINT_CSS))], **PDF_OPTIONS
    )


def pdf_filename(data: DashboardData) -> str:
    scope = data.scope
    return f"{data.dashboard}-{scope.period.start:%Y%m%d}-{scope.period.end:%Y%m%d}.pdf"
