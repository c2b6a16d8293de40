"""Lead import jobs move to the one import model (imports.ImportJob, kind "lead"), and each lead imported by one
points at the new job.

Every job is carried over with its file, mapping, counts and rejected-rows file (the same stored file, so it still
downloads), and its old id in `legacy_id`, so the old /leads/import/<id>/ URLs redirect to it. A job that was
previewed is set to be checked again (status "checking"): the new model stores the preview its check computes,
and the recovery sweep (crm.imports.tasks.recover_imports) runs that check within minutes.
"""

import uuid

import django.db.models.deletion
from django.db import migrations, models

FIELDS = (
    "tenant_id",
    "created_at",
    "created_by_id",
    "original_name",
    "encoding",
    "headers",
    "total_rows",
    "processed_rows",
    "created_count",
    "duplicate_count",
    "rejected_count",
    "error",
    "finished_at",
)


def carried(old) -> dict:
    mapping = old.mapping or {}
    summary = dict(old.summary or {})
    token = summary.pop("checking", None) or ""
    status = old.status
    if status == "uploaded" and token:
        status = "checking"
    elif status == "previewed":
        status, token = "checking", uuid.uuid4().hex
    return {
        **{name: getattr(old, name) for name in FIELDS},
        "kind": "lead",
        "file": old.file.name,
        "rejected_file": old.rejected_file.name or "",
        "mapping": {key: int(index) for key, index in (mapping.get("columns") or {}).items()},
        "options": {"owner": mapping.get("owner")},
        "summary": summary,
        "status": status,
        "check_token": token,
        "legacy_id": old.pk,
    }


def forward(apps, schema_editor):
    old_jobs = apps.get_model("sales", "LeadImport")
    new_jobs = apps.get_model("imports", "ImportJob")
    lead = apps.get_model("sales", "Lead")
    for old in old_jobs.objects.order_by("pk").iterator():
        new = new_jobs.objects.create(**carried(old))
        lead.objects.filter(import_job_id=old.pk).update(new_import_job_id=new.pk)


def backward(apps, schema_editor):
    old_jobs = apps.get_model("sales", "LeadImport")
    new_jobs = apps.get_model("imports", "ImportJob")
    lead = apps.get_model("sales", "Lead")
    for new in new_jobs.objects.filter(kind="lead").order_by("pk").iterator():
        status = "uploaded" if new.status == "checking" else new.status
        summary = {**(new.summary or {}), **({"checking": new.check_token} if new.status == "checking" else {})}
        old = old_jobs.objects.create(
            **{name: getattr(new, name) for name in FIELDS},
            file=new.file.name,
            rejected_file=new.rejected_file.name or "",
            mapping={"columns": new.mapping, **(new.options or {})},
            summary=summary,
            status=status,
        )
        lead.objects.filter(new_import_job_id=new.pk).update(import_job_id=old.pk)
    new_jobs.objects.filter(kind="lead").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0002_leads_pipelines"),
        ("imports", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="new_import_job",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="imports.importjob",
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
