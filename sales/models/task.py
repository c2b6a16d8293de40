"""Tasks with reminders."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel
from sales.models.followup import FollowUp
from sales.querysets import (
    TaskQuerySet,
)


class Task(TenantModel):
    """Something to do by a time, for one person, optionally about a customer, with an optional reminder."""

    title = models.CharField(_("title"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales_tasks", verbose_name=_("assignee")
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("customer"),
    )
    follow_up = models.ForeignKey(
        FollowUp, on_delete=models.SET_NULL, null=True, blank=True, related_name="next_tasks", editable=False
    )
    due_at = models.DateTimeField(_("due"))
    remind_at = models.DateTimeField(_("reminder"), null=True, blank=True)
    # Set, in the same transaction as the notification, by the reminder job; cleared when remind_at changes.
    reminder_sent_at = models.DateTimeField(_("reminder sent"), null=True, blank=True, editable=False)
    done_at = models.DateTimeField(_("done"), null=True, blank=True, editable=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remind_at__isnull=True) | models.Q(remind_at__lte=models.F("due_at")),
                name="sales_task_remind_before_due",
            ),
            models.CheckConstraint(condition=~models.Q(title=""), name="sales_task_title_required"),
        ]
        indexes = [
            # "My open tasks by due time" (list, widget, calendar).
            models.Index(
                fields=["tenant", "assignee", "due_at"],
                condition=models.Q(done_at__isnull=True),
                name="sales_task_open_idx",
            ),
            models.Index(fields=["tenant", "assignee", "-due_at"], name="sales_task_assignee_idx"),
            models.Index(fields=["tenant", "customer", "due_at"], name="sales_task_customer_idx"),
            # The reminder job: only pending reminders are in this index, so it stays small.
            models.Index(
                fields=["tenant", "remind_at"],
                condition=models.Q(remind_at__isnull=False, reminder_sent_at__isnull=True, done_at__isnull=True),
                name="sales_task_pending_remind_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_at < timezone.now()
