"""Files for the import framework's tests, generated here: CSV in any encoding, XLSX, and XLSX whose parts lie."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import openpyxl


def csv_bytes(headers, rows, *, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(headers, rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for values in rows:
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewrite_sheet(data: bytes, change) -> bytes:
    """The workbook with its first sheet's XML passed through `change` (text → text)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = change(content.decode()).encode()
            target.writestr(info, content)
    return out.getvalue()


def with_dimension(data: bytes, ref: str) -> bytes:
    """The workbook claiming another dimension (e.g. "A1:A1", or "A1:L2000000") than the rows it holds."""
    return rewrite_sheet(data, lambda xml: re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{ref}"/>', xml))


def with_far_row(data: bytes, row: int) -> bytes:
    """The workbook with one more cell, far down at `row`: small on disk, the rows in between blank."""
    cell = f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>far</t></is></c></row>'
    return rewrite_sheet(data, lambda xml: xml.replace("</sheetData>", cell + "</sheetData>"))


def without_dimension(data: bytes, *, broken_tail: bool = False) -> bytes:
    """The workbook with no <dimension> element (as some exporters write it); with `broken_tail`, its sheet's XML
    also breaks off after its rows, so only a reader that parsed to the end would notice."""

    def change(xml: str) -> str:
        xml = re.sub(r"<dimension ref=\"[^\"]*\"/>", "", xml)
        if broken_tail:
            xml = xml[: xml.index("</sheetData>")] + "<row r="
        return xml

    return rewrite_sheet(data, change)
