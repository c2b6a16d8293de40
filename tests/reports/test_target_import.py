"""Targets from a spreadsheet, through the shared import machine: people by login email, teams by name, months in
the ways people write them; rows outside the importer's teams or with bad cells are rejected with a reason, and a
row replaces that month's target."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.imports.models import ImportJob
from reports.imports import parse_month
from reports.models import SalesTarget

UPLOAD = reverse("reports:target_import")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def csv_bytes(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["销售", "月份", "目标金额", "新客户数"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def test_months_as_people_write_them():
    assert parse_month("2026-03") == dt.date(2026, 3, 1)
    assert parse_month("2026/3") == dt.date(2026, 3, 1)
    assert parse_month("2026年3月") == dt.date(2026, 3, 1)
    assert parse_month("2026-03-01") == dt.date(2026, 3, 1)
    assert parse_month("2026-13") is None and parse_month("三月") is None


@pytest.mark.django_db
def test_a_manager_imports_targets_and_bad_rows_are_rejected(world, world_b, media, client_for):
    SalesTarget.objects.create(tenant=world.tenant, user=world.rep1, month=dt.date(2026, 1, 1), amount=Decimal("1"))
    c = client_for(world.manager)
    rows = [
        [world.rep1.email.upper(), "2026-01", "50,000", "5"],  # 2 replaces the existing target
        [world.rep2.email, "2026年2月", "￥60000", ""],  # 3
        [world.team1.name, "2026/3", "120000", ""],  # 4 a team
        [world.manager.email, "2026-01", "1", ""],  # 5 their own target: not theirs to set
        [world_b.rep1.email, "2026-01", "1", ""],  # 6 another company's rep
        [world.rep2.email, "2026-13", "1", ""],  # 7 bad month
        [world.rep2.email, "2026-04", "-5", ""],  # 8 bad amount
        [world.rep2.email, "2026年2月", "70000", ""],  # 9 repeats row 3
    ]
    response = c.post(UPLOAD, {"file": SimpleUploadedFile("目标.csv", csv_bytes(rows))})
    job = ImportJob.objects.get(kind="target")
    assert response.status_code == 302
    assert job.mapping == {"who": 0, "month": 1, "amount": 2, "new_customers": 3}
    c.post(reverse("imports:mapping", args=[job.pk]), {k: str(v) for k, v in job.mapping.items()})
    job.refresh_from_db()
    assert job.status == "previewed", job.error
    assert (job.summary["valid"], job.summary["invalid"]) == (3, 5)
    assert SalesTarget.objects.count() == 1
    c.post(reverse("imports:commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "done", job.error
    assert SalesTarget.objects.get(user=world.rep1, month=dt.date(2026, 1, 1)).amount == Decimal("50000")
    assert SalesTarget.objects.get(user=world.rep1).new_customers == 5
    assert SalesTarget.objects.get(user=world.rep2).amount == Decimal("60000")
    assert SalesTarget.objects.get(team=world.team1).month == dt.date(2026, 3, 1)
    assert SalesTarget.objects.count() == 3
    assert not SalesTarget.objects.filter(user__in=[world.manager, world_b.rep1]).exists()


@pytest.mark.django_db
def test_reps_cannot_import_targets(world, media, client_for):
    response = client_for(world.rep1).post(UPLOAD, {"file": SimpleUploadedFile("目标.csv", csv_bytes([]))})
    assert response.status_code == 403
    assert not ImportJob.objects.exists()
