"""How each background job last ran for a tenant: one row per (tenant, task), updated by every run."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Tenant


class TaskRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    task = models.CharField(_("job"), max_length=200)
    status = models.CharField(_("result"), max_length=10, choices=Status.choices)
    started_at = models.DateTimeField(_("last run"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    result = models.CharField(_("outcome"), max_length=200, blank=True)
    runs = models.PositiveIntegerField(_("runs"), default=0)
    failures = models.PositiveIntegerField(_("failures"), default=0)
    last_failed_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "task"], name="jobs_taskrun_one_per_task")]

    def __str__(self) -> str:
        return f"{self.task} {self.status}"
