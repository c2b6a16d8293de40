"""One tenant's backup as one archive, and its restore: `manage.py export_tenant` / `import_tenant`.

The archive is a gzipped tar holding
- `manifest.json`: the format, the tenant, the schema's applied migrations, and per table its row count and the
  SHA-256 of its data file; per stored file its size and SHA-256; the install-specific ids the rows point at
  (content types, permissions) by their natural keys;
- `tables/<table>.jsonl`: the table's rows of the tenant, one JSON object a line (`row_to_json`, every column),
  in primary-key order, read in keyset batches;
- `files/<name>`: every stored file a row names (logos, ticket attachments, import and export files).

The tables are found through Django's model registry, so a new app's tables are carried without a line here: the
tenant's own row, then every concrete model with a `tenant` foreign key to `crm.Tenant` (users included), ordered
so a table comes after the tables it references.

Restore keeps the ids (rather than remapping them): every reference, the generic ones (approvals' object ids, ids
inside audit details and JSON settings) included, stays true without knowing where each id is hidden. It therefore
restores into an empty installation, into the installation the tenant came from after the tenant was removed, or
beside other tenants whose rows do not use the same ids; any clash is refused before anything is written, naming the
table. Content types and permissions, whose ids differ between installations, are translated by natural key. The
restore runs as the owner (operators' commands do), in the tenant's context, in one transaction: it writes all or
nothing. A user's email is a login across the installation: an archive whose users' emails belong to accounts here
is refused, listing them. The schema must match (the same migrations applied) — restore, then migrate.

A table the database keeps from others by triggers (a model with a `derived_from` attribute naming its sources,
such as the customers held per owner) is carried like any other and restored after its sources: their restore has
made the triggers write its rows already, and the archived rows take their place, so the table is restored exactly.

Not carried: sessions, login attempts (django-axes) and two-factor devices, which belong to an installation's
logins rather than to the company's data; users who must use two-factor login set it up again.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg2 import sql

from crm.errors import DomainError
from crm.models import Tenant, User
from crm.tenancy import tenant_context

FORMAT = 1
BATCH = 2000
# Foreign keys from tenant rows to tables whose ids are the installation's own: written by natural key.
NATURAL = (ContentType, Permission)


def _is_tenant_model(model: type[models.Model]) -> bool:
    try:
        tenant = model._meta.get_field("tenant")
    except Exception:  # noqa: BLE001 — FieldDoesNotExist: not a tenant table
        return False
    return getattr(tenant, "related_model", None) is Tenant


def archive_models() -> list[type[models.Model]]:
    """The tenant, then every concrete tenant table, each after the tables it references (and a derived table after
    its sources)."""
    found = [
        model
        for model in apps.get_models(include_auto_created=True)
        if not model._meta.proxy and model._meta.managed and _is_tenant_model(model)
    ]
    found.sort(key=lambda m: m._meta.db_table)
    ordered: list[type[models.Model]] = [Tenant]
    placed = {Tenant}
    pending = list(found)
    while pending:
        model = _next_ready(pending, placed, found, strict=True) or _next_ready(pending, placed, found, strict=False)
        model = model or pending[0]  # a cycle of required keys: they are checked at commit anyway
        pending.remove(model)
        ordered.append(model)
        placed.add(model)
    return ordered


def _next_ready(pending: list, placed: set, found: list, *, strict: bool) -> type[models.Model] | None:
    """The first model whose references are all placed (not strict: its required ones, breaking a cycle through a
    nullable key, such as a team's manager and a user's team)."""
    for model in pending:
        needs = {
            f.related_model
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model is not model and f.related_model in found and (strict or not f.null)
        } | _sources(model)
        if needs <= placed:
            return model
    return None


def _sources(model: type[models.Model]) -> set[type[models.Model]]:
    """The tables a derived table is kept from by triggers."""
    return {apps.get_model(label) for label in getattr(model, "derived_from", ())}


def _file_columns(model: type[models.Model]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


def _natural_columns(model: type[models.Model]) -> dict[str, type[models.Model]]:
    return {
        f.column: f.related_model for f in model._meta.concrete_fields if f.is_relation and f.related_model in NATURAL
    }


def _rows(model: type[models.Model], tenant_id: int) -> Iterator[tuple[int, str]]:
    """(pk, the row as JSON) of the tenant's rows, in primary-key order, in keyset batches (no server-side cursor:
    PgBouncer in transaction mode cannot keep one)."""
    table, pk = model._meta.db_table, model._meta.pk.column
    owner = "id" if model is Tenant else "tenant_id"
    query = sql.SQL(
        "SELECT t.{pk}, row_to_json(t)::text FROM {table} t WHERE t.{owner} = %s AND t.{pk} > %s ORDER BY t.{pk} LIMIT %s"
    ).format(pk=sql.Identifier(pk), table=sql.Identifier(table), owner=sql.Identifier(owner))
    last = -(2**63)
    while True:
        with connection.cursor() as cursor:
            cursor.execute(query.as_string(cursor.connection), [tenant_id, last, BATCH])
            batch = cursor.fetchall()
        yield from batch
        if len(batch) < BATCH:
            return
        last = batch[-1][0]


def _applied_migrations() -> list[list[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        return [list(row) for row in cursor.fetchall()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tenant_archive_export(*, tenant: Tenant, out: BinaryIO) -> dict:
    """Write the tenant's archive to `out` (a binary file); return its manifest."""
    manifest: dict = {
        "format": FORMAT,
        "tenant": {"id": tenant.pk, "slug": tenant.slug, "name": tenant.name},
        "created_at": timezone.now().isoformat(),
        "migrations": _applied_migrations(),
        "tables": [],
        "files": [],
        "natural_keys": {},
    }
    with tempfile.TemporaryDirectory() as scratch, tenant_context(tenant.pk), transaction.atomic():
        # One transaction (REPEATABLE READ would need a session setting; the tenant is expected to be quiet, e.g.
        # deactivated, while it is exported, as for any logical backup of one tenant).
        directory = Path(scratch)
        file_names: set[str] = set()
        for model in archive_models():
            table = model._meta.db_table
            files, natural = _file_columns(model), _natural_columns(model)
            natural_ids: dict[str, set[int]] = {column: set() for column in natural}
            path = directory / f"{table}.jsonl"
            count = 0
            with path.open("w", encoding="utf-8") as handle:
                for _pk, line in _rows(model, tenant.pk):
                    handle.write(line + "\n")
                    count += 1
                    if files or natural:
                        row = json.loads(line)
                        file_names.update(row[column] for column in files if row[column])
                        for column in natural:
                            if row[column] is not None:
                                natural_ids[column].add(row[column])
            for column, target in natural.items():
                keys = {str(obj.pk): obj.natural_key() for obj in target.objects.filter(pk__in=natural_ids[column])}
                manifest["natural_keys"].setdefault(table, {})[column] = keys
            manifest["tables"].append(
                {"table": table, "model": model._meta.label, "rows": count, "sha256": _sha256(path)}
            )
        with tarfile.open(fileobj=out, mode="w:gz") as archive:
            for entry in manifest["tables"]:
                archive.add(directory / f"{entry['table']}.jsonl", arcname=f"tables/{entry['table']}.jsonl")
            for name in sorted(file_names):
                if not default_storage.exists(name):
                    manifest["files"].append({"name": name, "missing": True})
                    continue
                with default_storage.open(name, "rb") as stored:
                    content = stored.read()
                info = tarfile.TarInfo(f"files/{name}")
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
                manifest["files"].append(
                    {"name": name, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
                )
            body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return manifest


@dataclass
class _Restore:
    manifest: dict
    archive: tarfile.TarFile
    written: list[str] = field(default_factory=list)

    def member(self, name: str) -> bytes:
        try:
            handle = self.archive.extractfile(name)
        except KeyError:
            handle = None
        if handle is None:
            raise DomainError(_("The archive is incomplete: %(name)s is missing.") % {"name": name})
        return handle.read()


def _read_manifest(archive: tarfile.TarFile) -> dict:
    try:
        handle = archive.extractfile("manifest.json")
        manifest = json.loads(handle.read()) if handle else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DomainError(_("This is not a tenant archive this version can read."))
    return manifest


def _check_schema(manifest: dict) -> None:
    theirs = {tuple(row) for row in manifest["migrations"]}
    ours = {tuple(row) for row in _applied_migrations()}
    if theirs != ours:
        differences = sorted(f"{app}.{name}" for app, name in theirs ^ ours)
        raise DomainError(
            _(
                "The archive was made with another version of the database schema; restore it into an installation "
                "at the same version, then migrate. Differences: %(list)s"
            )
            % {"list": ", ".join(differences[:10])}
        )


def _check_identity(manifest: dict, users: list[dict]) -> None:
    tenant = manifest["tenant"]
    if Tenant.objects.filter(pk=tenant["id"]).exists() or Tenant.objects.filter(slug=tenant["slug"]).exists():
        raise DomainError(
            _("A company with the id %(id)s or the short name %(slug)s already exists here.")
            % {"id": tenant["id"], "slug": tenant["slug"]}
        )
    emails = [row["email"].lower() for row in users if row.get("email")]
    taken = sorted(User.objects.annotate(login=Lower("email")).filter(login__in=emails).values_list("email", flat=True))
    if taken:
        raise DomainError(
            _("These users' emails already belong to accounts on this installation: %(emails)s")
            % {"emails": ", ".join(taken[:20]) + (" …" if len(taken) > 20 else "")}
        )


def _translate_natural(rows: list[dict], natural: dict[str, dict], model: type[models.Model]) -> None:
    targets = _natural_columns(model)
    for column, keys in natural.items():
        local = {}
        for old, key in keys.items():
            try:
                local[old] = targets[column].objects.get_by_natural_key(*key).pk
            except ObjectDoesNotExist as error:
                raise DomainError(
                    _("The archive names %(what)s, which this installation does not have.") % {"what": ".".join(key)}
                ) from error
        for row in rows:
            if row[column] is not None:
                row[column] = local[str(row[column])]


def _insert(model: type[models.Model], rows: list[dict]) -> None:
    table, pk = model._meta.db_table, model._meta.pk.column
    ids = [row[pk] for row in rows]
    with connection.cursor() as cursor:
        check = sql.SQL("SELECT min({pk}) FROM {table} WHERE {pk} = ANY(%s)").format(
            pk=sql.Identifier(pk), table=sql.Identifier(table)
        )
        cursor.execute(check.as_string(cursor.connection), [ids])
        (clash,) = cursor.fetchone()
        if clash is not None:
            raise DomainError(
                _(
                    "The table %(table)s here already holds a row with the id %(id)s: restore into an empty "
                    "installation, or one whose rows do not use the archive's ids."
                )
                % {"table": table, "id": clash}
            )
        insert = sql.SQL("INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, %s::json)").format(
            table=sql.Identifier(table)
        )
        cursor.execute(insert.as_string(cursor.connection), [json.dumps(rows, ensure_ascii=False)])


def _forget_derived(model: type[models.Model], tenant_id: int) -> None:
    """Remove the rows the triggers wrote into a derived table while its sources were restored: the tenant is new
    here, so every row of it there came from them; the archived rows are then written in their place."""
    with connection.cursor() as cursor:
        delete = sql.SQL("DELETE FROM {table} WHERE tenant_id = %s").format(table=sql.Identifier(model._meta.db_table))
        cursor.execute(delete.as_string(cursor.connection), [tenant_id])


def _advance_sequence(model: type[models.Model]) -> None:
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
        (sequence,) = cursor.fetchone()
        if sequence is None:
            return
        query = sql.SQL(
            "SELECT setval(%s, GREATEST((SELECT max({pk}) FROM {table}), (SELECT last_value FROM {seq})))"
        ).format(pk=sql.Identifier(pk), table=sql.Identifier(table), seq=sql.SQL(sequence))
        cursor.execute(query.as_string(cursor.connection), [sequence])


def _restore_files(restore: _Restore) -> None:
    for entry in restore.manifest["files"]:
        if entry.get("missing"):
            continue
        name = entry["name"]
        content = restore.member(f"files/{name}")
        if hashlib.sha256(content).hexdigest() != entry["sha256"]:
            raise DomainError(
                _("The archive is damaged: the file %(name)s does not match its checksum.") % {"name": name}
            )
        if default_storage.exists(name):
            with default_storage.open(name, "rb") as stored:
                if stored.read() == content:
                    continue
            raise DomainError(_("Another file is already stored as %(name)s.") % {"name": name})
        saved = default_storage.save(name, ContentFile(content))
        restore.written.append(saved)
        if saved != name:
            raise DomainError(_("The file %(name)s could not be stored under its own name.") % {"name": name})


def tenant_archive_import(*, source: BinaryIO) -> dict:
    """Restore the tenant of the archive read from `source`; return its manifest. Refused (DomainError, nothing
    written) when the archive is damaged, the schema differs, or the company, a user's email or an id is taken."""
    try:
        archive = tarfile.open(fileobj=source, mode="r:gz")
    except (tarfile.TarError, OSError) as error:
        raise DomainError(_("This is not a tenant archive this version can read.")) from error
    with archive:
        manifest = _read_manifest(archive)
        restore = _Restore(manifest=manifest, archive=archive)
        _check_schema(manifest)
        by_label = {model._meta.label: model for model in archive_models()}
        unknown = [entry["model"] for entry in manifest["tables"] if entry["model"] not in by_label]
        if unknown:
            raise DomainError(
                _("The archive holds tables this installation does not have: %(list)s") % {"list": ", ".join(unknown)}
            )
        tables = []
        for entry in manifest["tables"]:
            data = restore.member(f"tables/{entry['table']}.jsonl")
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise DomainError(
                    _("The archive is damaged: the table %(table)s does not match its checksum.")
                    % {"table": entry["table"]}
                )
            tables.append((by_label[entry["model"]], entry, data))
        users = next((data for model, _e, data in tables if model is User), b"")
        tenant_id = manifest["tenant"]["id"]
        try:
            with tenant_context(tenant_id), transaction.atomic():
                _check_identity(manifest, [json.loads(line) for line in users.splitlines()])
                for model, entry, data in tables:
                    natural = manifest["natural_keys"].get(entry["table"], {})
                    lines = data.splitlines()
                    if _sources(model):
                        _forget_derived(model, tenant_id)
                    for start in range(0, len(lines), BATCH):
                        rows = [json.loads(line) for line in lines[start : start + BATCH]]
                        _translate_natural(rows, natural, model)
                        _insert(model, rows)
                    _advance_sequence(model)
                _restore_files(restore)
                # The deferred foreign keys are checked here, inside the block, so a broken reference is refused too.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        except IntegrityError as error:
            _remove(restore.written)
            raise DomainError(
                _("The archive's rows do not fit this installation: %(reason)s")
                % {"reason": str(error).splitlines()[0]}
            ) from error
        except BaseException:
            _remove(restore.written)
            raise
    return manifest


def _remove(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
