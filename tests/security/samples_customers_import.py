"""Sample URL arguments for the customer import pages (customers/urls_import.py), for the cross-tenant sweep.

Each sample is a real import job of tenant A in the state its page expects, so A's administrator gets 200 (or, for
the POST-only commit, a redirect) while tenant B's users get 404. The jobs carry the "MARKA" marker in their file
name and content, so a leak would show.
"""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from customers.models import ImportJob

SAMPLE_CSV = "客户名称,手机\nMARKA 导入样本公司,13800138000\n,12345\n".encode("utf-8-sig")
REJECTED_CSV = "客户名称,手机,错误原因/reason\n,12345,MARKA missing name\n".encode("utf-8-sig")


def _stored(name: str, content: bytes) -> str:
    # One fixed file per kind, reused by every run: the sweep leaves no growing pile in media storage.
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(content))
    return name


def _job(world, status: str, **extra) -> dict:
    job = ImportJob.objects.create(
        tenant=world.tenant,
        created_by=world.manager,
        original_name="MARKA-客户.csv",
        encoding="utf-8-sig",
        headers=["客户名称", "手机"],
        mapping={"columns": {"name": 0, "mobile": 1}, "owner": world.manager.pk},
        summary={"valid": 1, "duplicate": 0, "invalid": 1, "invalid_by_field": {"name": 1}},
        status=status,
        total_rows=2,
        file=_stored("imports/sweep/marka-sample.csv", SAMPLE_CSV),
        **extra,
    )
    return {"pk": job.pk}


def _done(world) -> dict:
    return _job(
        world,
        ImportJob.Status.DONE,
        processed_rows=2,
        created_count=1,
        rejected_count=1,
        rejected_file=_stored("imports/sweep/marka-rejected.csv", REJECTED_CSV),
    )


SAMPLES = {
    "customers:import_detail": _done,
    "customers:import_mapping": lambda w: _job(w, ImportJob.Status.UPLOADED),
    "customers:import_preview": lambda w: _job(w, ImportJob.Status.PREVIEWED),
    "customers:import_commit": lambda w: _job(w, ImportJob.Status.PREVIEWED),
    "customers:import_progress": lambda w: _job(w, ImportJob.Status.RUNNING, processed_rows=1),
    "customers:import_rejected": _done,
}

# The default viewer (tenant A's administrator) may open every import job of the tenant.
VIEWERS: dict = {}
