"""The data migrations that carried the per-app import jobs (customers.ImportJob, sales.LeadImport) over to
imports.ImportJob: every job keeps its file, mapping, options, counts and rejected-rows file (which still downloads,
also through its old URL), its leads point at it, and a previewed job is set to be checked again."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from crm.imports.models import ImportJob
from sales.models import Lead

from ...conftest import build_world

BEFORE = [("customers", "0004_assignment_rules"), ("sales", "0002_leads_pipelines")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_import_jobs_are_carried_over(settings, tmp_path, client_for):
    settings.MEDIA_ROOT = tmp_path / "media"
    world = build_world("M")
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    rejected = default_storage.save(
        "imports/rejected/2024/05/old.csv", ContentFile("\ufeff客户名称,错误原因/reason\n,缺名称\n")
    )
    try:
        old = migrate(BEFORE)
        jobs = old.get_model("customers", "ImportJob")
        lead_imports = old.get_model("sales", "LeadImport")
        leads = old.get_model("sales", "Lead")
        common = {"tenant_id": world.tenant.pk, "created_by_id": world.rep1.pk, "encoding": "utf-8-sig"}
        done = jobs.objects.create(
            **common,
            file="imports/2024/05/a.csv",
            original_name="客户.csv",
            headers=["客户名称", "手机"],
            mapping={"columns": {"name": "0", "mobile": "1"}, "owner": world.rep1.pk, "by_rules": False},
            summary={"valid": 1, "duplicate": 0, "invalid": 1, "committed": {"valid": 1}},
            status="done",
            total_rows=2,
            processed_rows=2,
            created_count=1,
            rejected_count=1,
            rejected_file=rejected,
        )
        previewed = jobs.objects.create(
            **common,
            file="imports/2024/05/b.csv",
            original_name="预览.csv",
            headers=["客户名称"],
            mapping={"columns": {"name": 0}, "owner": None, "by_rules": True},
            summary={"valid": 3, "duplicate": 0, "invalid": 0},
            status="previewed",
            total_rows=3,
        )
        lead_job = lead_imports.objects.create(
            **common,
            file="lead-imports/2024/05/c.csv",
            original_name="线索.csv",
            headers=["姓名", "手机"],
            mapping={"columns": {"name": 0, "phone": 1}, "owner": None},
            summary={"checking": "abc"},
            status="uploaded",
            total_rows=5000,
        )
        lead = leads.objects.create(tenant_id=world.tenant.pk, name="导入的线索", origin="import", import_job=lead_job)
        migrate(leaves)
    finally:
        migrate(leaves)  # whatever happened, the database goes back to the current schema

    carried = {job.legacy_id: job for job in ImportJob.objects.filter(kind="customer")}
    job = carried[done.pk]
    assert (job.status, job.original_name, job.created_by, job.total_rows) == ("done", "客户.csv", world.rep1, 2)
    assert job.mapping == {"name": 0, "mobile": 1} and job.options == {"owner": world.rep1.pk, "by_rules": False}
    assert (job.created_count, job.rejected_count, job.rejected_file.name) == (1, 1, rejected)
    again = carried[previewed.pk]
    assert again.status == "checking" and again.check_token and again.options == {"owner": None, "by_rules": True}
    lead_import = ImportJob.objects.get(kind="lead", legacy_id=lead_job.pk)
    assert lead_import.status == "checking" and lead_import.check_token == "abc" and lead_import.summary == {}
    assert lead_import.options == {"owner": None} and lead_import.file.name == "lead-imports/2024/05/c.csv"
    assert Lead.objects.get(pk=lead.pk).import_job == lead_import
    # The rejected rows of the old job still download, through its old URL too.
    client = client_for(world.rep1)
    response = client.get(f"/customers/import/{done.pk}/rejected.csv", follow=True)
    assert response.status_code == 200 and "缺名称" in response.content.decode("utf-8-sig")
    assert response.redirect_chain == [(reverse("imports:rejected", args=[job.pk]), 302)]
