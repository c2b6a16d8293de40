from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from .models import CalendarOverride
from .selectors import local_today


class CalendarOverrideFilter(django_filters.FilterSet):
    period = django_filters.ChoiceFilter(
        label=_("Show"),
        choices=[("upcoming", _("Today and later")), ("past", _("Past dates"))],
        method="filter_period",
        empty_label=None,
    )

    class Meta:
        model = CalendarOverride
        fields = ["period"]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def filter_period(self, queryset, name, value):
        today = local_today(self.tenant)
        if value == "past":
            return queryset.filter(day__lt=today).order_by("-day")
        return queryset.filter(day__gte=today).order_by("day")
