"""The ticket list's FilterSet: views (mine, my team's, unassigned, breaching soon), filters, search and sort."""

from __future__ import annotations

import re
from datetime import timedelta

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.filters import BoundedDateFilter, add_custom_filters
from crm.models import Role, Team, User
from crm.workcalendar.selectors import local_midnight
from customers.filters import search_customers
from customers.models import Customer
from service.access import assignable_agents
from service.models import OPEN_STATUSES, Channel, Priority, SatisfactionSurvey, Status, TicketCategory

NUMBER_RE = re.compile(r"^(?:t-?)?0*(\d{1,9})$", re.IGNORECASE)
BREACHING_SOON = timedelta(hours=4)

VIEWS = [
    ("mine", _("My tickets")),
    ("team", _("My team's")),
    ("unassigned", _("Unassigned")),
    ("breaching", _("Breaching soon")),
    ("all", _("All I can see")),
]
SORTS = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "-updated": ("-updated_at", "-pk"),
}
SORT_CHOICES = [
    ("due", _("Due first")),
    ("-created", _("Newest")),
    ("created", _("Oldest")),
    ("-updated", _("Recently updated")),
]


def search_tickets(queryset, value: str, tenant):
    """A number (T-000123, 123), else the subject, or the customer and its contacts by the customers' search
    (name, pinyin, phone, email)."""
    text = (value or "").strip()
    if not text:
        return queryset
    match = NUMBER_RE.match(text)
    if match:
        return queryset.filter(number=int(match.group(1)))
    customers = search_customers(Customer.objects.filter(tenant=tenant, deleted_at__isnull=True), text, tenant)
    return queryset.filter(Q(subject__icontains=text) | Q(customer__in=customers.values("pk")))


class TicketFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    view = django_filters.ChoiceFilter(label=_("Show"), choices=VIEWS, method="filter_view", empty_label=None)
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        method="filter_status",
        empty_label=None,
        choices=[("open", _("Not solved")), *Status.choices, ("any", _("Any"))],
    )
    priority = django_filters.ChoiceFilter(label=_("Priority"), choices=Priority.choices, empty_label=_("Any"))
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Channel.choices, empty_label=_("Any"))
    category = django_filters.ModelChoiceFilter(
        label=_("Category"), queryset=TicketCategory.objects.none(), empty_label=_("Any")
    )
    assignee = django_filters.ChoiceFilter(
        label=_("Assignee"), choices=[], method="filter_assignee", empty_label=_("Anyone")
    )
    sort = django_filters.ChoiceFilter(label=_("Sort"), choices=SORT_CHOICES, method="sort_by", empty_label=None)

    def __init__(self, data=None, *args, request=None, **kwargs):
        data = data.copy() if data is not None else None
        if data is not None:
            for key, default in (("status", "open"), ("sort", "due"), ("view", self.default_view(request.user))):
                if not data.get(key):
                    data[key] = default
        super().__init__(data, *args, request=request, **kwargs)
        self.tenant = request.tenant
        add_custom_filters(self, self.tenant.pk, "ticket")
        self.filters["category"].queryset = TicketCategory.objects.filter(tenant=request.tenant).order_by("name")
        self.filters["assignee"].extra["choices"] = [
            (str(pk), name or email)
            for pk, name, email in assignable_agents(request.user)
            .order_by("full_name", "pk")
            .values_list("pk", "full_name", "email")
        ]

    @staticmethod
    def default_view(user) -> str:
        if user.has_any_role(Role.AGENT) and not user.has_any_role(Role.ADMIN, Role.MANAGER):
            return "mine"
        return "all"

    def search(self, queryset, name, value):
        return search_tickets(queryset, value, self.tenant)

    def filter_view(self, queryset, name, value):
        user = self.request.user
        if value == "mine":
            return queryset.filter(assignee=user)
        if value == "team":
            teams = Team.objects.managed_by(user).values("pk") if user.has_any_role(Role.MANAGER) else None
            if user.team_id:
                own = Team.objects.filter(tenant=self.tenant, path__startswith=user.team.path).values("pk")
                return queryset.filter(Q(team__in=own) | (Q(team__in=teams) if teams is not None else Q(pk__in=[])))
            return queryset.filter(team__in=teams) if teams is not None else queryset.none()
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        if value == "breaching":
            return queryset.filter(due_at__lte=timezone.now() + BREACHING_SOON, status__in=[Status.NEW, Status.OPEN])
        return queryset

    def filter_assignee(self, queryset, name, value):
        return queryset.filter(assignee_id=int(value)) if str(value).isdigit() else queryset

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status__in=OPEN_STATUSES)
        if value == "any":
            return queryset
        return queryset.filter(status=value)

    def sort_by(self, queryset, name, value):
        if value == "due":
            return queryset.order_by(F("due_at").asc(nulls_last=True), "pk")
        return queryset.order_by(*SORTS.get(value, SORTS["-created"]))


RATING_CHOICES = [(n, str(n)) for n in range(5, 0, -1)]


class SurveyFilter(django_filters.FilterSet):
    """The survey results' filters: answered between two tenant-local days, agent, team, category, rating, low
    ratings only. Choices are the tenant's; the rows are already those the user may see."""

    date_from = BoundedDateFilter(
        label=pgettext_lazy("start of a period", "From"),
        method="filter_from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = BoundedDateFilter(
        label=pgettext_lazy("end of a period", "To"), method="filter_to", widget=forms.DateInput(attrs={"type": "date"})
    )
    agent = django_filters.ModelChoiceFilter(label=_("Agent"), queryset=User.objects.none())
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.none())
    category = django_filters.ModelChoiceFilter(label=_("Category"), queryset=TicketCategory.objects.none())
    rating = django_filters.TypedChoiceFilter(label=_("Rating"), choices=RATING_CHOICES, coerce=int)
    low = django_filters.BooleanFilter(
        label=_("Low ratings only (1–2)"), method="filter_low", widget=forms.CheckboxInput
    )

    class Meta:
        model = SatisfactionSurvey
        fields = ["date_from", "date_to", "agent", "team", "category", "rating", "low"]

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.tenant = request.tenant
        self.filters["agent"].queryset = (
            User.objects.for_tenant(self.tenant).with_role(Role.AGENT).order_by("full_name", "pk")
        )
        self.filters["team"].queryset = Team.objects.for_tenant(self.tenant).order_by("path")
        self.filters["category"].queryset = TicketCategory.objects.for_tenant(self.tenant)

    def filter_from(self, queryset, name, value):
        return queryset.filter(answered_at__gte=local_midnight(self.tenant, value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(answered_at__lt=local_midnight(self.tenant, value + timedelta(days=1)))

    def filter_low(self, queryset, name, value):
        return queryset.filter(rating__lte=SatisfactionSurvey.LOW) if value else queryset
