"""A tenant's working calendar: the working week and hours, the lunch break, whether China's statutory holidays
apply, and per-date overrides."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import TenantModel


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


def default_workdays() -> list[int]:
    return [0, 1, 2, 3, 4]


DEFAULT_DAY_START = dt.time(9, 0)
DEFAULT_DAY_END = dt.time(18, 0)
DEFAULT_LUNCH_START = dt.time(12, 0)
DEFAULT_LUNCH_END = dt.time(13, 30)


class WorkCalendar(TenantModel):
    """At most one per tenant; a tenant without one works Mon–Fri 09:00–18:00 with a 12:00–13:30 lunch break.

    Hours are the tenant's local wall-clock times (its time zone is the tenant's). A working day is one interval,
    or two around the lunch break; no shift crosses midnight."""

    workdays = ArrayField(
        models.PositiveSmallIntegerField(choices=Weekday.choices),
        default=default_workdays,
        verbose_name=_("working days"),
    )
    day_start = models.TimeField(_("work starts"), default=DEFAULT_DAY_START)
    day_end = models.TimeField(_("work ends"), default=DEFAULT_DAY_END)
    lunch_start = models.TimeField(_("lunch break starts"), null=True, blank=True, default=DEFAULT_LUNCH_START)
    lunch_end = models.TimeField(_("lunch break ends"), null=True, blank=True, default=DEFAULT_LUNCH_END)
    follow_china_holidays = models.BooleanField(_("follow China's statutory holidays"), default=True)
    # Changes with every change of the calendar or of its overrides: processes that cached the calendar compare it
    # to know theirs is stale.
    revision = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        verbose_name = _("working calendar")
        verbose_name_plural = _("working calendars")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="workcalendar_one_per_tenant"),
            models.CheckConstraint(condition=models.Q(day_start__lt=models.F("day_end")), name="workcalendar_hours"),
            models.CheckConstraint(
                condition=(
                    models.Q(lunch_start__isnull=True, lunch_end__isnull=True)
                    | models.Q(
                        lunch_start__gt=models.F("day_start"),
                        lunch_end__gt=models.F("lunch_start"),
                        day_end__gt=models.F("lunch_end"),
                    )
                ),
                name="workcalendar_lunch_inside_hours",
            ),
            models.CheckConstraint(condition=~models.Q(workdays=[]), name="workcalendar_some_workday"),
        ]

    def __str__(self) -> str:
        return f"{self.day_start:%H:%M}–{self.day_end:%H:%M}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list] = {}
        if not self.workdays:
            errors["workdays"] = [_("Choose at least one working day.")]
        if self.day_start and self.day_end and self.day_start >= self.day_end:
            errors["day_end"] = [_("Work must end after it starts (shifts that cross midnight are not supported).")]
        if (self.lunch_start is None) != (self.lunch_end is None):
            field = "lunch_end" if self.lunch_end is None else "lunch_start"
            errors[field] = [_("Give both ends of the lunch break, or neither.")]
        elif self.lunch_start is not None and self.lunch_end is not None:
            if self.lunch_start >= self.lunch_end:
                errors["lunch_end"] = [_("The lunch break must end after it starts.")]
            elif not errors.get("day_end") and not (
                self.day_start < self.lunch_start and self.lunch_end < self.day_end
            ):
                errors["lunch_start"] = [
                    _("The lunch break must lie inside the working hours (%(start)s–%(end)s).")
                    % {"start": f"{self.day_start:%H:%M}", "end": f"{self.day_end:%H:%M}"}
                ]
        if errors:
            raise ValidationError(errors)


class CalendarOverride(TenantModel):
    """One date the tenant works or rests regardless of the working week and of China's calendar."""

    day = models.DateField(_("date"))
    is_working = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["tenant", "day"], name="workcalendar_override_one_per_day")]

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {'+' if self.is_working else '-'}"
