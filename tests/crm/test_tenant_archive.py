"""export_tenant / import_tenant: one tenant's rows and files restored, beside another tenant, with the same counts
and checksums; refusals write nothing."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.tenant_archive import archive_models, tenant_archive_export, tenant_archive_import
from customers.models import Customer

from ..factories import TeamFactory, UserFactory


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def drop_tenant(tenant_id: int) -> None:
    """Remove every row of the tenant, as an operator would before restoring it (triggers and keys off meanwhile)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for model in reversed(archive_models()):
            column = "id" if model is Tenant else "tenant_id"
            cursor.execute(f'DELETE FROM "{model._meta.db_table}" WHERE "{column}" = %s', [tenant_id])


def export(tenant) -> tuple[bytes, dict]:
    out = io.BytesIO()
    manifest = tenant_archive_export(tenant=tenant, out=out)
    return out.getvalue(), manifest


def summary(manifest: dict) -> dict:
    return {entry["table"]: (entry["rows"], entry["sha256"]) for entry in manifest["tables"]}


def test_every_table_with_a_tenant_is_carried(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'tenant_id' "
            "AND table_schema = 'public'"
        )
        tables = {name for (name,) in cursor.fetchall()}
    carried = {model._meta.db_table for model in archive_models()}
    assert tables - carried == set()


@pytest.mark.django_db
def test_seeded_tenant_round_trip_beside_another(media, capsys, tmp_path):
    call_command("seed_demo")
    capsys.readouterr()
    acme, demo = Tenant.objects.get(slug="acme"), Tenant.objects.get(slug="demo")
    acme.logo.save("logo.png", ContentFile(b"\x89PNG\r\n\x1a\nlogo"), save=True)
    logo = acme.logo.name
    demo_customers = Customer.objects.filter(tenant=demo).count()

    data, before = export(acme)
    assert sum(1 for entry in before["tables"] if entry["rows"]) >= 40  # the demo fills most kinds of rows
    assert [entry["name"] for entry in before["files"]] == [logo]

    # The company is still here: refused, nothing written.
    with pytest.raises(DomainError, match="already exists"):
        tenant_archive_import(source=io.BytesIO(data))

    drop_tenant(acme.pk)
    default_storage.delete(logo)
    assert not Tenant.objects.filter(pk=acme.pk).exists()

    path = tmp_path / "acme.tar.gz"
    path.write_bytes(data)
    call_command("import_tenant", str(path))
    capsys.readouterr()

    restored = Tenant.objects.get(pk=acme.pk)
    _, after = export(restored)
    assert summary(after) == summary(before)
    assert after["files"] == before["files"]
    assert default_storage.open(logo).read() == b"\x89PNG\r\n\x1a\nlogo"
    assert Customer.objects.filter(tenant=demo).count() == demo_customers
    # New rows after the restore take new ids (the sequences moved past the restored ones).
    UserFactory(tenant=restored, email="new@acme.test")


@pytest.mark.django_db
def test_export_tenant_command_writes_the_archive(world_a, tmp_path, capsys):
    path = tmp_path / "a.tar.gz"
    call_command("export_tenant", world_a.tenant.slug, str(path))
    assert "Exported" in capsys.readouterr().out
    with tarfile.open(path, "r:gz") as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())
        users = archive.extractfile("tables/crm_user.jsonl").read().decode().splitlines()
    assert manifest["tenant"]["slug"] == world_a.tenant.slug
    assert {json.loads(line)["email"] for line in users} == set(
        User.objects.filter(tenant=world_a.tenant).values_list("email", flat=True)
    )
    with pytest.raises(CommandError, match="exists"):
        call_command("export_tenant", world_a.tenant.slug, str(path))


@pytest.mark.django_db
def test_taken_email_is_refused_and_nothing_is_written(world_a, world_b, media):
    world_a.tenant.logo.save("logo.png", ContentFile(b"logo"), save=True)
    logo = world_a.tenant.logo.name
    data, _ = export(world_a.tenant)
    tenant_id = world_a.tenant.pk
    drop_tenant(tenant_id)
    default_storage.delete(logo)
    UserFactory(tenant=world_b.tenant, email=world_a.rep1.email.upper())
    users = User.objects.count()

    with pytest.raises(DomainError, match=r"emails already belong to accounts.*REP1@"):
        tenant_archive_import(source=io.BytesIO(data))

    assert not Tenant.objects.filter(pk=tenant_id).exists()
    assert User.objects.count() == users
    assert not default_storage.exists(logo)


@pytest.mark.django_db
def test_taken_id_and_damaged_archive_are_refused(world_a, world_b):
    data, _ = export(world_a.tenant)
    team_id, tenant_id = world_a.team2.pk, world_a.tenant.pk
    drop_tenant(tenant_id)
    TeamFactory(tenant=world_b.tenant, id=team_id, name="占用")  # another company's row holds one of the ids
    with pytest.raises(DomainError, match=f"crm_team here already holds a row with the id {team_id}"):
        tenant_archive_import(source=io.BytesIO(data))
    assert not Tenant.objects.filter(pk=tenant_id).exists()

    with pytest.raises(DomainError, match="not a tenant archive"):
        tenant_archive_import(source=io.BytesIO(b"not a tar"))
    damaged = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as source,
        tarfile.open(fileobj=damaged, mode="w:gz") as out,
    ):
        for member in source.getmembers():
            content = source.extractfile(member).read()
            if member.name == "tables/crm_team.jsonl":
                content = content.replace(b"\xe4\xb8\x80", b"\xe4\xba\x8c")  # 一 → 二
                member.size = len(content)
            out.addfile(member, io.BytesIO(content))
    with pytest.raises(DomainError, match="crm_team does not match its checksum"):
        tenant_archive_import(source=io.BytesIO(damaged.getvalue()))
