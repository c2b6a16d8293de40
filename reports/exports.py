"""Each dashboard's tables as CSV (UTF-8 with BOM) or XLSX: the same figures as the page, in the user's language,
every text cell made safe to open in a spreadsheet (crm.spreadsheet.neutralise, through crm.exports.csv_cell),
numbers as numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from crm.exports import csv_cell
from crm.spreadsheet import neutralise
from reports.models import Dashboard
from reports.selectors.dashboard import DashboardData

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _pct(value):
    return None if value is None else Decimal(str(value))


def tables(data: DashboardData) -> list[tuple[str, list[str], list[list]]]:
    """[(title, headers, rows)] of the dashboard in `data`."""
    report = data.report
    if data.dashboard == Dashboard.FUNNEL:
        stages = [
            [r.stage.name, r.reached, _pct(r.conversion), _pct(r.of_cohort), _pct(r.avg_days), r.amount]
            for r in report.stages
        ]
        reasons = [[reason, n] for reason, n in report.lost_reasons]
        return [
            (
                _("Funnel"),
                [
                    _("Stage"),
                    _("Reached"),
                    _("From the previous stage") + " %",
                    _("Of all created") + " %",
                    _("Average days in stage"),
                    _("Amount"),
                ],
                stages,
            ),
            (_("Why deals were lost"), [_("Reason"), _("Lost")], reasons),
        ]
    if data.dashboard == Dashboard.FORECAST:
        rows = [
            [
                row.month.strftime("%Y-%m"),
                row.won,
                row.open_count,
                row.unweighted,
                row.weighted,
                row.commit,
                row.best_case,
                row.target,
                _pct(row.attainment),
                row.gap,
                row.new_customers,
                row.target_customers,
            ]
            for row in report.months
        ]
        headers = [
            _("Month"),
            _("Won"),
            _("Open deals"),
            _("Unweighted"),
            _("Weighted"),
            _("Commit"),
            _("Best case"),
            _("Target"),
            _("Attainment") + " %",
            _("Gap"),
            _("New customers"),
            _("Target") + " · " + _("New customers"),
        ]
        return [(_("Forecast"), headers, rows)]
    if data.dashboard == Dashboard.TEAM:
        rows = [
            [
                r.user.full_name,
                r.user.team.name if r.user.team else "",
                r.won_amount,
                r.won,
                r.new_customers,
                r.followups,
                r.tasks_on_time,
                r.tasks_late,
                r.claims,
                r.fallbacks,
                _pct(r.response_hours),
            ]
            for r in report.reps
        ]
        headers = [
            _("Person"),
            _("Team"),
            _("Won amount"),
            _("Deals won"),
            _("New customers"),
            _("Follow-ups"),
            _("Tasks on time"),
            _("Tasks late"),
            _("Pool claims"),
            _("Fallbacks"),
            _("First response to new leads") + " (h)",
        ]
        return [(_("Team performance"), headers, rows)]
    kinds = [str(label) for _value, label in report.kinds]
    rows = [[p.user.full_name, *p.kinds(), p.followups, p.overdue_tasks, p.stale_customers] for p in report.people]
    headers = [
        _("Person"),
        *kinds,
        _("Follow-ups"),
        _("Overdue tasks"),
        _("Not followed up for %(n)s days") % {"n": report.stale_days},
    ]
    return [(_("Activity"), headers, rows)]


def write_csv(data: DashboardData) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for index, (title, headers, rows) in enumerate(tables(data)):
        if index:
            writer.writerow([])
        writer.writerow([csv_cell(title)])
        writer.writerow([csv_cell(h) for h in headers])
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(sheet, value) -> WriteOnlyCell:
    if isinstance(value, int | float | Decimal):
        return WriteOnlyCell(sheet, value=value)
    cell = WriteOnlyCell(sheet, value=None if value in (None, "") else neutralise(str(value)))
    if cell.value is not None:
        cell.data_type = "s"
    return cell


def write_xlsx(data: DashboardData) -> bytes:
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, headers, rows in tables(data):
        sheet = workbook.create_sheet(title=str(title)[:31])
        sheet.freeze_panes = "A2"
        header = []
        for text in headers:
            cell = WriteOnlyCell(sheet, value=neutralise(str(text)))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in rows:
            sheet.append([_cell(sheet, v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
