"""Sales pipelines and their ordered stages."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import TenantModel
from sales.querysets import (
    StageQuerySet,
)


class Pipeline(TenantModel):
    """A sales process of the tenant (e.g. new business, renewals): its ordered stages, one won and one lost."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="sales_pipeline_unique_name")]
        indexes = [models.Index(fields=["tenant", "position"], name="sales_pipeline_tenant_idx")]

    def __str__(self) -> str:
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", pgettext_lazy("opportunity status", "Open")
    WON = "won", pgettext_lazy("opportunity status", "Won")
    LOST = "lost", pgettext_lazy("opportunity status", "Lost")


class Stage(TenantModel):
    """A stage of a pipeline with its default win probability. Open stages are ordered by `position`; the won and
    the lost stage (exactly one of each per pipeline) close an opportunity and always come last."""

    Kind = StageKind

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=4, choices=StageKind.choices, default=StageKind.OPEN)
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=10)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("in use"), default=True)

    objects = StageQuerySet.as_manager()

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "pipeline", "name"], name="sales_stage_unique_name"),
            models.UniqueConstraint(
                fields=["tenant", "pipeline"], condition=models.Q(kind="won"), name="sales_stage_one_won"
            ),
            models.UniqueConstraint(
                fields=["tenant", "pipeline"], condition=models.Q(kind="lost"), name="sales_stage_one_lost"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=StageKind.values), name="sales_stage_kind"),
            models.CheckConstraint(condition=models.Q(probability__lte=100), name="sales_stage_probability"),
            models.CheckConstraint(
                condition=~models.Q(kind=StageKind.WON) | models.Q(probability=100), name="sales_stage_won_100"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind=StageKind.LOST) | models.Q(probability=0), name="sales_stage_lost_0"
            ),
            # Only open stages are archived; won and lost are part of every pipeline.
            models.CheckConstraint(
                condition=models.Q(is_active=True) | models.Q(kind=StageKind.OPEN), name="sales_stage_closed_active"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "pipeline", "position"], name="sales_stage_pipeline_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_won(self) -> bool:
        return self.kind == StageKind.WON

    @property
    def is_lost(self) -> bool:
        return self.kind == StageKind.LOST

    @property
    def is_closed(self) -> bool:
        return self.kind != StageKind.OPEN
