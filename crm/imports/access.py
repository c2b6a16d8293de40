"""Who may open an import job: its uploader and the tenant's administrators; anyone else gets 404, the same answer
as for a job that does not exist (another tenant's included)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404

from crm.imports.models import ImportJob
from crm.models import Role, User
from crm.registry import registry


def can_access_job(user: User, job: ImportJob) -> bool:
    """The person who uploaded it, and the tenant's administrators."""
    return bool(
        user.is_authenticated
        and job.tenant_id == user.tenant_id
        and (job.created_by_id == user.pk or user.has_any_role(Role.ADMIN))
    )


def _checked(user: User, job: ImportJob) -> ImportJob:
    if not can_access_job(user, job):
        raise Http404
    try:
        kind = registry.import_kind(job.kind)
    except LookupError:
        raise Http404 from None
    kind.require_import(user)  # PermissionDenied (403) for one who may no longer import this kind
    return job


def get_import_for_user(user: User, pk: int) -> ImportJob:
    jobs = ImportJob.objects.for_tenant(user.tenant).select_related("created_by", "tenant")
    return _checked(user, get_object_or_404(jobs, pk=pk))


def get_legacy_import_for_user(user: User, kind: str, legacy_id: int) -> ImportJob:
    """A job carried over from the per-app import models, by the id its old URL carries."""
    jobs = ImportJob.objects.for_tenant(user.tenant).select_related("created_by", "tenant")
    return _checked(user, get_object_or_404(jobs, kind=kind, legacy_id=legacy_id))
