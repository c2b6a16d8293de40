"""Appointments in the calendar, their attendees and the customer's contacts who attend."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel
from sales.querysets import (
    AppointmentQuerySet,
)


class Appointment(TenantModel):
    """A calendar entry with a start and an end, a place, its owner and attendees (colleagues and contacts)."""

    title = models.CharField(_("title"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales_appointments", verbose_name=_("owner")
    )
    start_at = models.DateTimeField(_("start"))
    end_at = models.DateTimeField(_("end"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name=_("customer"),
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="AppointmentAttendee",
        through_fields=("appointment", "user"),
        related_name="+",
        blank=True,
        verbose_name=_("colleagues"),
    )
    contacts = models.ManyToManyField(
        "customers.Contact",
        through="AppointmentContact",
        through_fields=("appointment", "contact"),
        related_name="+",
        blank=True,
        verbose_name=_("contacts"),
    )
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True, editable=False)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_at__gt=models.F("start_at")), name="sales_appt_end_after"),
            models.CheckConstraint(condition=~models.Q(title=""), name="sales_appt_title_required"),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "owner", "start_at"],
                condition=models.Q(cancelled_at__isnull=True),
                name="sales_appt_owner_idx",
            ),
            models.Index(fields=["tenant", "customer", "start_at"], name="sales_appt_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class AppointmentAttendee(TenantModel):
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="attendee_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "appointment", "user"], name="sales_appt_attendee_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "user", "appointment"], name="sales_appt_attendee_user_idx")]


class AppointmentContact(TenantModel):
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="contact_links")
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "appointment", "contact"], name="sales_appt_contact_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "contact"], name="sales_appt_contact_idx")]
