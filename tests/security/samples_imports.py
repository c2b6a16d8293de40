"""Sample URL arguments for the import pages (crm/imports/urls.py) and the old per-app import URLs that redirect
to them (customers' and leads'), for the cross-tenant sweep.

Each sample is a real import job of tenant A in the state its page expects, so A's administrator gets 200 (or, for
the POST-only commit, a redirect; for an old URL, a redirect to a page that answers) while tenant B's users get
404. The jobs carry the "MARKA" marker in their file name, preview and content, so a leak would show.
"""

import itertools
import json

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from crm.imports.models import ImportJob

from .marks import named

SAMPLE_CSV = "客户名称,手机\nMARKA 导入样本公司,13800138000\n,12345\n".encode("utf-8-sig")
REJECTED_CSV = "客户名称,手机,错误原因/reason\n,12345,MARKA missing name\n".encode("utf-8-sig")
PREVIEW = {
    "rows": [
        {"number": 2, "status": "valid", "values": {"name": "MARKA 导入样本公司"}, "errors": {}, "note": ""},
        {"number": 3, "status": "invalid", "values": {"name": ""}, "errors": {"name": "MARKA missing"}, "note": ""},
    ],
    "problems": [
        {"number": 3, "status": "invalid", "values": {"name": ""}, "errors": {"name": "MARKA missing"}, "note": ""}
    ],
}
_legacy_ids = itertools.count(9001)


def _stored(world, name: str, content: bytes) -> str:
    # One fixed file per kind and tenant, reused by every run: the sweep leaves no growing pile in media storage.
    name, content = named(world, name).lower(), named(world, content.decode("utf-8-sig")).encode("utf-8-sig")
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(content))
    return name


def _job(world, status: str, kind: str = "customer", rejected: str = "rejected", **extra) -> ImportJob:
    if status in (ImportJob.Status.DONE, ImportJob.Status.PREVIEWED):
        extra.setdefault("rejected_file", _stored(world, f"imports/sweep/MARKA-{rejected}.csv", REJECTED_CSV))
    if status == ImportJob.Status.DONE:
        extra.update(processed_rows=2, created_count=1, rejected_count=1)
    return ImportJob.objects.create(
        tenant=world.tenant,
        created_by=world.manager,
        kind=kind,
        original_name=named(world, "MARKA-导入.csv"),
        encoding="utf-8-sig",
        headers=["客户名称", "手机"],
        samples=[[named(world, "MARKA 导入样本公司"), "13800138000"]],
        mapping={"name": 0, "mobile": 1} if kind == "customer" else {"name": 0, "phone": 1},
        options={"owner": world.manager.pk},
        summary={"valid": 1, "duplicate": 0, "invalid": 1, "invalid_by_field": {"name": 1}},
        preview=json.loads(named(world, json.dumps(PREVIEW, ensure_ascii=False))),
        status=status,
        total_rows=2,
        file=_stored(world, "imports/sweep/MARKA-sample.csv", SAMPLE_CSV),
        **extra,
    )


def _pk(status, **extra):
    return lambda world: {"pk": _job(world, status, **extra).pk}


def _legacy(kind, status, step=None):
    def sample(world):
        job = _job(world, status, kind=kind, legacy_id=next(_legacy_ids))
        return {"pk": job.legacy_id, **({"step": step} if step else {})}

    return sample


SAMPLES = {
    "imports:detail": _pk(ImportJob.Status.DONE),
    "imports:mapping": _pk(ImportJob.Status.UPLOADED),
    "imports:preview": _pk(ImportJob.Status.PREVIEWED),
    # Committing replaces the job's rejected-rows file: a file of its own, so the other samples keep theirs.
    "imports:commit": _pk(ImportJob.Status.PREVIEWED, rejected="rejected-committed"),
    "imports:progress": _pk(ImportJob.Status.RUNNING, processed_rows=1),
    "imports:rejected": _pk(ImportJob.Status.DONE),
    "customers:import_legacy": _legacy("customer", ImportJob.Status.DONE),
    "customers:import_legacy_step": _legacy("customer", ImportJob.Status.PREVIEWED, "preview"),
    "customers:import_legacy_rejected": _legacy("customer", ImportJob.Status.DONE),
    "sales:lead_import_legacy": _legacy("lead", ImportJob.Status.DONE),
    "sales:lead_import_legacy_step": _legacy("lead", ImportJob.Status.UPLOADED, "mapping"),
    "sales:lead_import_legacy_rejected": _legacy("lead", ImportJob.Status.DONE),
}

# The default viewer (tenant A's administrator) may open every import job of the tenant.
VIEWERS: dict = {}

REDIRECTS = {
    name: "the per-app import URLs before crm.imports, kept so bookmarks still work"
    for name in SAMPLES
    if "_legacy" in name
}
