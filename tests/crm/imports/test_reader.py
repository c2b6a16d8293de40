"""Reading import files within caps: no file holds a web process for long. A 200,000-column CSV is refused at upload
with the limit named; an XLSX's claimed dimension is never trusted (rows are read until they end, and the upload
stops counting past the inline limit); a sheet that goes on too long, a row too wide or a workbook that unpacks too
big are refused with a clear error, in the request or, for a large file, by the check in the worker."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.imports import reader
from crm.imports.models import ImportJob
from crm.imports.reader import ImportFileError, read_sheet
from crm.imports.services import import_check, import_map, import_upload
from customers.imports.customer import CustomerKind
from customers.services.tenant import tenant_defaults

from .files import csv_bytes, with_dimension, with_far_row, without_dimension, xlsx_bytes

HEADERS = ["客户名称", "手机"]


def rows(n, start=0):
    return [[f"第{i}号公司", f"139{i:08d}"] for i in range(start, start + n)]


@pytest.fixture
def admin(world_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant_defaults(tenant=world_a.tenant)
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])
    return world_a.admin


def upload(user, name, data, **extra) -> ImportJob:
    return import_upload(acting_user=user, kind=CustomerKind, uploaded=SimpleUploadedFile(name, data), **extra)


class Counter:
    """Counts the rows the reader takes from a file (every row, blank ones and the header included)."""

    def __init__(self, monkeypatch):
        self.rows = 0
        trimmed = reader._trimmed

        def counting(cells):
            self.rows += 1
            return trimmed(cells)

        monkeypatch.setattr(reader, "_trimmed", counting)


def test_a_200000_column_csv_is_refused_at_upload_naming_the_limit(admin, client_for):
    headers = ["客户名称", *(f"列{i}" for i in range(199_999))]
    data = csv_bytes(headers, [["某公司", *([""] * 199_999)]])
    response = client_for(admin).post(reverse("customers:import"), {"file": SimpleUploadedFile("宽.csv", data)})
    assert response.status_code == 422
    assert "The header row has 200,000 columns; at most 100 can be imported." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_row_wider_than_the_cap_is_refused(admin, settings):
    settings.IMPORT_MAX_COLUMNS = 5
    data = csv_bytes(HEADERS, [["某公司", "13900000000"], ["另一公司", *(["x"] * 10)]])
    with pytest.raises(ImportFileError, match="Row 3 has more than 5 columns; at most 5 can be imported."):
        upload(admin, "宽行.csv", data)
    # Trailing empty cells do not count: offices' files often carry them.
    job = upload(admin, "空列.csv", csv_bytes(HEADERS, [["某公司", "13900000000", *([""] * 50)]]))
    assert job.total_rows == 1


def test_an_xlsx_claiming_one_cell_is_read_to_its_last_row(admin):
    data = with_dimension(xlsx_bytes(HEADERS, rows(30)), "A1:A1")
    sheet = read_sheet(data, "a.xlsx")
    assert sheet.headers == HEADERS and len(list(sheet.rows)) == 30
    assert upload(admin, "a.xlsx", data).total_rows == 30


def test_an_xlsx_claiming_two_million_rows_is_not_counted_by_its_claim(admin, monkeypatch):
    data = with_dimension(xlsx_bytes(HEADERS, rows(12)), "A1:B2000000")
    counter = Counter(monkeypatch)
    job = upload(admin, "claims.xlsx", data)
    assert job.total_rows == 12 and counter.rows == 13  # the header and the 12 rows it really has


def test_an_xlsx_without_a_dimension_is_not_scanned_to_its_end_at_upload(
    admin, settings, django_capture_on_commit_callbacks
):
    """openpyxl's read-only sheet would parse the whole sheet looking for a missing <dimension>; the reader never
    asks it. The proof: a sheet broken after its rows uploads (its first rows read), and only its check fails."""
    settings.IMPORT_INLINE_MAX_ROWS = 10
    data = without_dimension(xlsx_bytes(HEADERS, rows(100)), broken_tail=True)
    job = upload(admin, "no-dimension.xlsx", data)
    assert job.total_rows is None and len(job.samples) == 5
    with django_capture_on_commit_callbacks(execute=False):
        job = import_map(acting_user=admin, job=job, columns=job.mapping)
    import_check(job_id=job.pk, token=job.check_token)
    job.refresh_from_db()
    assert job.status == "failed" and job.error == "This file could not be read as an Excel workbook (.xlsx)."
    assert upload(admin, "whole.xlsx", without_dimension(xlsx_bytes(HEADERS, rows(8)))).total_rows == 8


def test_the_upload_counts_no_further_than_the_inline_limit(admin, settings, monkeypatch):
    settings.IMPORT_INLINE_MAX_ROWS = 50
    for name, data in [
        ("big.csv", csv_bytes(HEADERS, rows(5000))),
        ("big.xlsx", with_dimension(xlsx_bytes(HEADERS, rows(5000)), "A1:B2000000")),
    ]:
        counter = Counter(monkeypatch)
        job = upload(admin, name, data)
        # Large: counted by the check in the worker. The request read the header and 51 rows, not 5,000.
        assert job.total_rows is None and counter.rows == 52, name
        assert job.samples[0] == ["第0号公司", "13900000000"] and len(job.samples) == 5


def test_a_sheet_that_goes_on_too_long_is_refused_without_reading_it_all(admin, settings, monkeypatch):
    settings.IMPORT_MAX_ROWS = 1000
    # Three rows of data, and one cell at row 2,000,000: a small file whose rows in between are all blank.
    data = with_far_row(xlsx_bytes(HEADERS, rows(3)), 2_000_000)
    counter = Counter(monkeypatch)
    with pytest.raises(ImportFileError, match="The file has more than 1,000 rows"):
        upload(admin, "far.xlsx", data)
    assert counter.rows <= 1002


def test_a_large_file_over_the_row_cap_fails_its_check_with_the_limit(
    admin, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_INLINE_MAX_ROWS = 10
    settings.IMPORT_MAX_ROWS = 30
    job = upload(admin, "long.csv", csv_bytes(HEADERS, rows(40)))
    assert job.total_rows is None
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        job = import_map(acting_user=admin, job=job, columns=job.mapping)
    assert job.status == "checking" and len(enqueued) == 1  # the worker checks it
    assert import_check(job_id=job.pk, token=job.check_token) is None
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == "The file has more than 30 rows; split it into files of at most 30 rows."


def test_a_workbook_that_unpacks_too_big_is_refused_before_it_is_opened(admin, settings, monkeypatch):
    settings.IMPORT_MAX_UNPACKED_BYTES = 4096
    opened = []
    monkeypatch.setattr("openpyxl.load_workbook", lambda *args, **kwargs: opened.append(args))
    with pytest.raises(ImportFileError, match="This workbook unpacks to more than 4.0"):
        upload(admin, "bomb.xlsx", xlsx_bytes(HEADERS, rows(200)))
    assert not opened


@pytest.mark.parametrize(
    "cells, expected",
    [
        (["'=1+1", "'-2+3", "'+cmd", "'@x"], ["=1+1", "-2+3", "+cmd", "@x"]),  # a rejected-rows file's guard undone
        (["'abc", "'5", "'-5"], ["'abc", "'5", "'-5"]),  # an apostrophe the user typed stays
        ([" 张三 ", "\u3000"], ["张三"]),  # stripped, trailing blanks dropped
    ],
)
def test_cells_are_read_as_typed(cells, expected):
    sheet = read_sheet(csv_bytes(["a", "b", "c", "d"], [cells]), "x.csv")
    assert next(sheet.rows)[1] == expected


def test_encodings_and_delimiters(admin):
    text = "客户名称;手机\n\n某公司;13900000000\n"
    for encoding in ("utf-8", "utf-8-sig", "gb18030"):
        sheet = read_sheet(text.encode(encoding), "x.csv")
        assert sheet.headers == HEADERS and list(sheet.rows) == [(3, ["某公司", "13900000000"])]
    with pytest.raises(ImportFileError, match="neither UTF-8 nor GB18030"):
        read_sheet(b"\xff\xfe\x00\x01\x80\x81", "x.csv")
