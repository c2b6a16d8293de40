"""Approval requests on any tenant object, and their steps (the history of who decided what, when and why)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel

from .querysets import ApprovalRequestQuerySet


class ApprovalRequest(TenantModel):
    """A request that an object (content type + id, of the same tenant) be approved under a registered policy.

    At most one request per object and kind is pending (a partial unique index), so submitting twice at once
    creates one; a rejected or withdrawn object is resubmitted as a new request, the old one kept as history."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    kind = models.CharField(_("kind"), max_length=50)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    title = models.CharField(_("title"), max_length=255)
    summary = models.TextField(_("details"), blank=True)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    url = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    current_step = models.PositiveSmallIntegerField(default=1)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    objects = ApprovalRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "content_type", "object_id", "kind"],
                condition=models.Q(status="pending"),
                name="approvals_one_pending_per_object",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="approvals_tenant_status_idx"),
            models.Index(fields=["tenant", "requested_by", "-created_at"], name="approvals_tenant_requester_idx"),
            models.Index(fields=["tenant", "content_type", "object_id"], name="approvals_tenant_object_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class ApprovalStep(TenantModel):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Not yet")
        PENDING = "pending", _("Waiting for a decision")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Not needed")

    class Approver(models.TextChoices):
        MANAGER = "manager", _("The requester's manager")
        ADMIN = "admin", _("An administrator")

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    approver = models.CharField(_("decided by"), max_length=10, choices=Approver.choices)
    label = models.CharField(_("step"), max_length=255)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.WAITING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")
        ordering = ["request", "order"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "request", "order"], name="approvals_step_order_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "decided_by"], name="approvals_step_decider_idx")]

    def __str__(self) -> str:
        return f"{self.order}. {self.label}"
