"""Pipelines and their stages (admins): create, rename, reorder, retire; every tenant has a default pipeline."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import Tenant, User
from crm.services.audit import audit
from sales.models import Opportunity, Pipeline, Stage, StageChange, StageKind


def _default_stage_names() -> list[tuple[str, int]]:
    return [
        (pgettext("pipeline stage", "Qualification"), 10),
        (pgettext("pipeline stage", "Needs analysis"), 30),
        (pgettext("pipeline stage", "Proposal"), 50),
        (pgettext("pipeline stage", "Negotiation"), 75),
    ]


def _create_stages(pipeline: Pipeline, actor: User | None) -> None:
    with translation.override(pipeline.tenant.language):
        stages = [
            Stage(tenant=pipeline.tenant, pipeline=pipeline, name=name, probability=p, position=i, created_by=actor)
            for i, (name, p) in enumerate(_default_stage_names())
        ]
        stages.append(
            Stage(
                tenant=pipeline.tenant,
                pipeline=pipeline,
                name=pgettext("pipeline stage", "Won"),
                kind=StageKind.WON,
                probability=100,
                position=0,
                created_by=actor,
            )
        )
        stages.append(
            Stage(
                tenant=pipeline.tenant,
                pipeline=pipeline,
                name=pgettext("pipeline stage", "Lost"),
                kind=StageKind.LOST,
                probability=0,
                position=0,
                created_by=actor,
            )
        )
    Stage.objects.bulk_create(stages)


def ensure_default_pipeline(tenant: Tenant) -> Pipeline:
    """The tenant's first pipeline, created with the default stages if it has none (new tenants, and tenants that
    existed before pipelines did). Idempotent."""
    pipeline = Pipeline.objects.filter(tenant=tenant).order_by("position", "pk").first()
    if pipeline is not None:
        return pipeline
    with transaction.atomic(), translation.override(tenant.language):
        pipeline, created = Pipeline.objects.get_or_create(
            tenant=tenant, name=pgettext("pipeline", "New business"), defaults={"position": 0}
        )
        if created:
            _create_stages(pipeline, None)
    return pipeline


def pipeline_create(*, acting_user: User, name: str) -> Pipeline:
    """A new pipeline with the default stages (which the admin then renames, reorders and adjusts)."""
    require_admin(acting_user)
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the pipeline a name."), field="name")
    tenant = acting_user.tenant
    try:
        with transaction.atomic():
            last = Pipeline.objects.filter(tenant=tenant).aggregate(m=Max("position"))["m"]
            pipeline = Pipeline.objects.create(
                tenant=tenant, name=name[:100], position=(last + 1) if last is not None else 0, created_by=acting_user
            )
            _create_stages(pipeline, acting_user)
            audit(tenant=tenant, actor=acting_user, action="pipeline.create", obj=pipeline)
    except IntegrityError as exc:
        raise DomainError(_("A pipeline with this name already exists."), field="name") from exc
    return pipeline


def pipeline_update(*, acting_user: User, pipeline: Pipeline, name: str, is_active: bool) -> Pipeline:
    require_admin(acting_user)
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the pipeline a name."), field="name")
    try:
        with transaction.atomic():
            pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk, tenant_id=acting_user.tenant_id)
            if not is_active and pipeline.is_active:
                others = Pipeline.objects.filter(tenant_id=pipeline.tenant_id, is_active=True).exclude(pk=pipeline.pk)
                if not others.exists():
                    raise DomainError(_("Keep at least one pipeline in use."), field="is_active")
            changes = {}
            if pipeline.name != name:
                changes["name"] = [pipeline.name, name]
            if pipeline.is_active != is_active:
                changes["active"] = [pipeline.is_active, is_active]
            pipeline.name, pipeline.is_active = name[:100], is_active
            pipeline.save()
            if changes:
                audit(
                    tenant=pipeline.tenant, actor=acting_user, action="pipeline.update", obj=pipeline, details=changes
                )
    except IntegrityError as exc:
        raise DomainError(_("A pipeline with this name already exists."), field="name") from exc
    return pipeline


def pipeline_delete(*, acting_user: User, pipeline: Pipeline) -> None:
    """Only a pipeline that never held an opportunity is deleted; otherwise it is taken out of use instead."""
    require_admin(acting_user)
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk, tenant_id=acting_user.tenant_id)
        if Opportunity.objects.filter(pipeline=pipeline).exists():
            raise DomainError(_("This pipeline has opportunities; take it out of use instead of deleting it."))
        if not Pipeline.objects.filter(tenant_id=pipeline.tenant_id).exclude(pk=pipeline.pk).exists():
            raise DomainError(_("A company needs at least one pipeline."))
        audit(tenant=pipeline.tenant, actor=acting_user, action="pipeline.delete", obj=pipeline)
        pipeline.delete()


def check_probability(value: Any, field: str = "probability") -> int:
    if value is None or not isinstance(value, int) or not 0 <= value <= 100:
        raise DomainError(_("A probability is a whole number from 0 to 100."), field=field)
    return value


def stage_save(
    *, acting_user: User, pipeline: Pipeline, name: str, probability: int | None = None, stage: Stage | None = None
) -> Stage:
    """Add an open stage at the end of the open stages, or rename a stage / change an open stage's probability
    (won is always 100 %, lost 0 %)."""
    require_admin(acting_user)
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the stage a name."), field="name")
    tenant = acting_user.tenant
    if pipeline.tenant_id != tenant.pk:
        raise PermissionDenied
    try:
        with transaction.atomic():
            Pipeline.objects.select_for_update().get(pk=pipeline.pk)
            if stage is None:
                probability = check_probability(probability)
                last = Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN).aggregate(m=Max("position"))["m"]
                stage = Stage.objects.create(
                    tenant=tenant,
                    pipeline=pipeline,
                    name=name[:100],
                    probability=probability,
                    position=(last + 1) if last is not None else 0,
                    created_by=acting_user,
                )
                audit(tenant=tenant, actor=acting_user, action="stage.create", obj=stage, details={"p": probability})
                return stage
            stage = Stage.objects.select_for_update().get(pk=stage.pk, pipeline=pipeline)
            changes = {}
            if stage.name != name:
                changes["name"] = [stage.name, name]
            stage.name = name[:100]
            if stage.kind == StageKind.OPEN and probability is not None:
                probability = check_probability(probability)
                if probability != stage.probability:
                    changes["probability"] = [stage.probability, probability]
                stage.probability = probability
            stage.save()
            if changes:
                audit(tenant=tenant, actor=acting_user, action="stage.update", obj=stage, details=changes)
    except IntegrityError as exc:
        raise DomainError(_("This pipeline already has a stage with this name."), field="name") from exc
    return stage


def stage_move(*, acting_user: User, stage: Stage, up: bool) -> Stage:
    """Swap an open stage with its neighbour (won and lost always come last)."""
    require_admin(acting_user)
    if stage.tenant_id != acting_user.tenant_id:
        raise PermissionDenied
    if stage.kind != StageKind.OPEN:
        raise DomainError(_("Won and lost always come last."))
    with transaction.atomic():
        Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
        stages = list(
            Stage.objects.filter(pipeline_id=stage.pipeline_id, kind=StageKind.OPEN).order_by("position", "pk")
        )
        index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
        other = index - 1 if up else index + 1
        if not 0 <= other < len(stages):
            return stage
        stages[index], stages[other] = stages[other], stages[index]
        for position, item in enumerate(stages):
            if item.position != position:
                Stage.objects.filter(pk=item.pk).update(position=position, updated_at=timezone.now())
        audit(tenant=stage.tenant, actor=acting_user, action="stage.move", obj=stage, details={"up": up})
    stage.refresh_from_db()
    return stage


def stage_remove(*, acting_user: User, stage: Stage) -> str:
    """Delete an open stage nothing ever passed through; take one with history out of use (its history stays for
    the reports). Refused while opportunities are in it. Returns "deleted" or "archived"."""
    require_admin(acting_user)
    if stage.tenant_id != acting_user.tenant_id:
        raise PermissionDenied
    if stage.kind != StageKind.OPEN:
        raise DomainError(_("Every pipeline keeps its won and lost stages."))
    with transaction.atomic():
        Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
        stage = Stage.objects.select_for_update().get(pk=stage.pk)
        count = Opportunity.objects.filter(stage=stage).count()
        if count:
            raise DomainError(
                _("%(count)d opportunities are in this stage; move them to another stage first.") % {"count": count}
            )
        remaining = Stage.objects.filter(pipeline_id=stage.pipeline_id, kind=StageKind.OPEN, is_active=True)
        if not remaining.exclude(pk=stage.pk).exists():
            raise DomainError(_("A pipeline needs at least one open stage."))
        used = (
            StageChange.objects.filter(to_stage=stage).exists() or StageChange.objects.filter(from_stage=stage).exists()
        )
        if used:
            stage.is_active = False
            stage.save(update_fields=["is_active", "updated_at"])
            audit(tenant=stage.tenant, actor=acting_user, action="stage.archive", obj=stage)
            return "archived"
        audit(tenant=stage.tenant, actor=acting_user, action="stage.delete", obj=stage)
        stage.delete()
        return "deleted"


def stage_restore(*, acting_user: User, stage: Stage) -> Stage:
    require_admin(acting_user)
    if stage.tenant_id != acting_user.tenant_id:
        raise PermissionDenied
    with transaction.atomic():
        changed = Stage.objects.filter(pk=stage.pk, is_active=False).update(is_active=True, updated_at=timezone.now())
        if changed:
            audit(tenant=stage.tenant, actor=acting_user, action="stage.restore", obj=stage)
    stage.refresh_from_db()
    return stage
