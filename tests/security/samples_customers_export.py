"""Sample URL arguments for the export, recycle-bin and merge pages (see samples_crm.py for the contract).

Each sample makes its own rows of tenant A, so it depends on nothing else being planted; the restore sample also
leaves a second customer in A's bin, so the bin page has something B must not see."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from customers.models import Customer, ExportJob
from customers.services.customer import customer_create
from customers.services.trash import customer_trash

from .marks import named

SAMPLE_FILE = "exports/tests/sweep-sample.csv"


def _customer(world, name: str) -> Customer:
    name = named(world, name)
    existing = Customer.objects.filter(tenant=world.tenant, name=name, deleted_at__isnull=True).first()
    return existing or customer_create(acting_user=world.rep1, data={"name": name})


def _trashed(world):
    keep_in_bin = _customer(world, "MARKA 回收站留存公司")
    customer_trash(acting_user=world.rep1, customer=keep_in_bin)
    customer = _customer(world, "MARKA 回收站公司")
    customer_trash(acting_user=world.rep1, customer=customer)
    return {"pk": customer.pk}


def _export(world):
    # One small file in media storage, reused by every sweep run (media/ is outside version control).
    if not default_storage.exists(SAMPLE_FILE):
        default_storage.save(SAMPLE_FILE, ContentFile("\ufeffName\r\n".encode()))
    job = ExportJob.objects.create(
        tenant=world.tenant,
        created_by=world.admin,
        format="csv",
        status=ExportJob.Status.DONE,
        row_count=1,
        file=SAMPLE_FILE,
    )
    return {"pk": job.pk}


SAMPLES = {
    "customers:export_download": _export,
    "customers:restore": _trashed,
    "customers:merge": lambda w: {"pk": _customer(w, "MARKA 合并保留公司").pk},
}

VIEWERS = {
    "customers:export_download": "admin",
    "customers:restore": "admin",
    "customers:merge": "manager",
}
