"""Search, filters and sort of the sales lists, on top of the scoped querysets (never `.objects.all()`)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Role, Team, User

from .models import FollowUp, order_currencies


def day_bounds(tenant, day) -> tuple[datetime, datetime]:
    """[start, end) of a local day of the tenant, as aware datetimes."""
    start = timezone.make_aware(datetime.combine(day, time.min), tenant.tzinfo)
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tenant.tzinfo)
    return start, end


def people_for(user) -> User:
    """Whose work `user` may filter by: themself, their teams' members (managers) or everyone (admins)."""
    users = User.objects.for_tenant(user.tenant).filter(is_active=True)
    if user.has_role(Role.ADMIN):
        return users.order_by("full_name")
    if user.has_role(Role.MANAGER):
        return (users.filter(team__in=Team.objects.managed_by(user).values("pk")) | users.filter(pk=user.pk)).order_by(
            "full_name"
        )
    return users.filter(pk=user.pk)


class PersonChoiceFilter(django_filters.ModelChoiceFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", User.objects.none())
        super().__init__(*args, **kwargs)


class TaskFilter(django_filters.FilterSet):
    STATUS_CHOICES = [
        ("open", _("Open")),
        ("overdue", _("Overdue")),
        ("today", _("Due today")),
        ("upcoming", _("Upcoming")),
        ("done", _("Done")),
        ("all", _("All")),
    ]

    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Show"), choices=STATUS_CHOICES, method="filter_status", empty_label=None
    )
    assignee = PersonChoiceFilter(label=_("Assignee"))

    def __init__(self, data=None, *args, request=None, **kwargs):
        if data is not None and not data.get("status"):
            data = data.copy()
            data["status"] = "open"
        super().__init__(data, *args, request=request, **kwargs)
        self.tenant = request.tenant
        people = people_for(request.user)
        self.filters["assignee"].queryset = people
        self.show_assignee = request.user.has_role(Role.ADMIN) or request.user.has_role(Role.MANAGER)
        if not self.show_assignee:
            del self.filters["assignee"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(customer__name__startswith=value))

    def filter_status(self, queryset, name, value):
        now = timezone.now()
        today_start, today_end = day_bounds(self.tenant, timezone.localtime(now, self.tenant.tzinfo).date())
        if value == "overdue":
            return queryset.filter(done_at__isnull=True, due_at__lt=now).order_by("due_at", "pk")
        if value == "today":
            # Still to do today; what is already past is under "overdue" (the same split as the counts).
            return queryset.filter(
                done_at__isnull=True, due_at__gte=max(now, today_start), due_at__lt=today_end
            ).order_by("due_at", "pk")
        if value == "upcoming":
            return queryset.filter(done_at__isnull=True, due_at__gte=today_end).order_by("due_at", "pk")
        if value == "done":
            return queryset.filter(done_at__isnull=False).order_by("-done_at", "-pk")
        if value == "all":
            return queryset.order_by("-due_at", "-pk")
        return queryset.filter(done_at__isnull=True).order_by("due_at", "pk")


class FollowUpFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    kind = django_filters.ChoiceFilter(label=_("Type"), choices=FollowUp.Kind.choices)
    outcome = django_filters.ChoiceFilter(label=_("Outcome"), choices=FollowUp.Outcome.choices)
    author = PersonChoiceFilter(label=_("By"))
    since = django_filters.DateFilter(
        label=_("Since"), method="filter_since", widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data=None, *args, request=None, **kwargs):
        super().__init__(data, *args, request=request, **kwargs)
        self.tenant = request.tenant
        self.filters["author"].queryset = people_for(request.user)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(content__icontains=value) | Q(customer__name__startswith=value))

    def filter_since(self, queryset, name, value):
        return queryset.filter(happened_at__gte=day_bounds(self.tenant, value)[0])


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    currency = django_filters.ChoiceFilter(label=_("Currency"), choices=[])
    since = django_filters.DateFilter(
        label=_("From"),
        field_name="ordered_on",
        lookup_expr="gte",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )
    until = django_filters.DateFilter(
        label=_("To"),
        field_name="ordered_on",
        lookup_expr="lte",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )
    include_void = django_filters.BooleanFilter(
        label=_("Include void orders"), method="filter_void", widget=django_filters.widgets.forms.CheckboxInput
    )

    def __init__(self, data=None, *args, request=None, **kwargs):
        super().__init__(data, *args, request=request, **kwargs)
        self.filters["currency"].extra["choices"] = [(c, c) for c in order_currencies(request.tenant)]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(reference__startswith=value) | Q(customer__name__startswith=value))

    def filter_void(self, queryset, name, value):
        return queryset

    @property
    def qs(self):
        qs = super().qs
        if not getattr(self.form, "cleaned_data", {}).get("include_void"):
            qs = qs.filter(voided_at__isnull=True)
        return qs.order_by("-ordered_on", "-pk")
