"""Customer import jobs move to the one import model (imports.ImportJob, kind "customer").

Every job is carried over with its file, mapping, counts and rejected-rows file (the same stored file, so it still
downloads), and its old id in `legacy_id`, so the old /customers/import/<id>/ URLs redirect to it. A job that was
previewed had its preview computed on every page view; the new model stores the preview its check computes, so
such a job is set to be checked again (status "checking"): the recovery sweep (crm.imports.tasks.recover_imports)
runs its check within minutes and it is previewed again, its rows unchanged.
"""

import uuid

from django.db import migrations

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
    "rejected_count",
    "error",
    "finished_at",
)


def carried(old, kind: str, options: dict) -> dict:
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
        "kind": kind,
        "file": old.file.name,
        "rejected_file": old.rejected_file.name or "",
        "mapping": {key: int(index) for key, index in (mapping.get("columns") or {}).items()},
        "options": options,
        "summary": summary,
        "status": status,
        "check_token": token,
        "legacy_id": old.pk,
    }


def forward(apps, schema_editor):
    old_jobs = apps.get_model("customers", "ImportJob")
    new_jobs = apps.get_model("imports", "ImportJob")
    for old in old_jobs.objects.order_by("pk").iterator():
        mapping = old.mapping or {}
        options = {"owner": mapping.get("owner"), "by_rules": bool(mapping.get("by_rules"))}
        new_jobs.objects.create(**carried(old, "customer", options))


def backward(apps, schema_editor):
    old_jobs = apps.get_model("customers", "ImportJob")
    new_jobs = apps.get_model("imports", "ImportJob")
    for new in new_jobs.objects.filter(kind="customer").order_by("pk").iterator():
        status = "uploaded" if new.status == "checking" else new.status
        summary = {**(new.summary or {}), **({"checking": new.check_token} if new.status == "checking" else {})}
        old_jobs.objects.create(
            **{name: getattr(new, name) for name in FIELDS},
            file=new.file.name,
            rejected_file=new.rejected_file.name or "",
            mapping={"columns": new.mapping, **(new.options or {})},
            summary=summary,
            status=status,
        )
    new_jobs.objects.filter(kind="customer").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_assignment_rules"),
        ("imports", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
