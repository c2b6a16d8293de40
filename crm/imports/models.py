"""The import job: one row per uploaded file, whatever kind of record it brings in."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel


class ImportJob(TenantModel):
    """A file being imported: its kind, the file and its header, the column mapping, the checked counts and preview,
    the progress of the commit and its result (created and rejected counts, the rejected rows to fix).

    Its status moves uploaded → checking → previewed → queued/running → done or failed; each step is claimed with a
    conditional UPDATE on the status, so a double click or a redelivered task never runs a step twice."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        CHECKING = "checking", _("Checking")
        PREVIEWED = "previewed", _("Previewed")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=40)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    encoding = models.CharField(max_length=20, blank=True)
    headers = models.JSONField(default=list, blank=True)
    # The first rows of the file, read at upload, shown beside the mapping (the mapping page never reads the file).
    samples = models.JSONField(default=list, blank=True)
    # Target key → column index.
    mapping = models.JSONField(default=dict, blank=True)
    # What the kind asked at upload (e.g. the owner to import for, or "by the assignment rules").
    options = models.JSONField(default=dict, blank=True)
    # Ties a check to the mapping it checks: a check still running for an earlier mapping cannot overwrite a newer.
    check_token = models.CharField(max_length=32, blank=True)
    # Counts per status (valid, duplicate, invalid), invalid cells per column, and the counts at commit.
    summary = models.JSONField(default=dict, blank=True)
    # The first checked rows and the first rejected ones, with their reasons, as the preview shows them.
    preview = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED)
    # Data rows of the file; None until counted (a large file is counted by the check, in the worker).
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    # Rows imported although they repeat an existing record (kinds that keep duplicates, flagged).
    duplicate_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    rejected_file = models.FileField(upload_to="imports/rejected/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The id this job had in the per-app import models it was carried over from, so their old URLs redirect here.
    legacy_id = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "kind", "-created_at"], name="imports_job_tenant_kind_idx"),
            models.Index(
                fields=["tenant", "kind", "legacy_id"],
                name="imports_job_legacy_idx",
                condition=models.Q(legacy_id__isnull=False),
            ),
            models.Index(
                fields=["status", "updated_at"],
                name="imports_job_unfinished_idx",
                condition=models.Q(status__in=["checking", "queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return self.original_name
