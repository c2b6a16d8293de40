"""Search, filters and sort of the sales lists, on top of the scoped querysets (never `.objects.all()`)."""

from __future__ import annotations

import re

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from crm.access import assignable_users
from crm.expressions import InArray, InFunctionArray, StartsWith
from crm.filters import BoundedDateFilter, LocalDayFilter, TeamTreeFilter, add_custom_filters, limit_team_choices
from crm.forms import QuickSelect
from crm.models import Role, User
from crm.search_functions import matching_ids
from crm.workcalendar.selectors import local_day_bounds, local_midnight, local_today
from customers.filters import CONTAINS_MOST, SHOWN_PHONE_TAIL, TAIL_MOST, exact_identifier, exact_search_over_limit
from customers.models import Customer, Tag
from customers.normalize import nfkc, normalize_email, normalize_phone

from .models import (
    ContractStatus,
    FollowUp,
    LeadOrigin,
    LeadStatus,
    LeadTag,
    OrderStatus,
    Pipeline,
    QuoteStatus,
    Stage,
    StageKind,
    order_currencies,
)


class PersonChoiceFilter(django_filters.ModelChoiceFilter):
    """A person of the company: their menu (two hundred users and more) renders without a template per option."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", User.objects.none())
        kwargs.setdefault("widget", QuickSelect)
        super().__init__(*args, **kwargs)


class TaskFilter(django_filters.FilterSet):
    STATUS_CHOICES = [
        ("open", pgettext_lazy("task status", "Open")),
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
    team = TeamTreeFilter(label=_("Assignee's team"), field_name="assignee")
    due_from = LocalDayFilter(label=_("Due from"), field_name="due_at", lookup_expr="gte")
    due_to = LocalDayFilter(label=_("Due until"), field_name="due_at", lookup_expr="lte")
    done_from = LocalDayFilter(label=_("Done from"), field_name="done_at", lookup_expr="gte")
    done_to = LocalDayFilter(label=_("Done until"), field_name="done_at", lookup_expr="lte")

    def __init__(self, data=None, *args, request=None, **kwargs):
        if data is not None and not data.get("status"):
            data = data.copy()
            data["status"] = "open"
        super().__init__(data, *args, request=request, **kwargs)
        self.tenant = request.tenant
        people = assignable_users(request.user).order_by("full_name")
        self.filters["assignee"].queryset = people
        self.show_assignee = request.user.has_any_role(Role.ADMIN, Role.MANAGER)
        if not self.show_assignee:
            del self.filters["assignee"]
        limit_team_choices(self, request.user, self.tenant)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(customer__name__startswith=value))

    def filter_status(self, queryset, name, value):
        now = timezone.now()
        today_start, today_end = local_day_bounds(self.tenant, local_today(self.tenant, now))
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
    since = BoundedDateFilter(
        label=_("Since"), method="filter_since", widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data=None, *args, request=None, **kwargs):
        super().__init__(data, *args, request=request, **kwargs)
        self.tenant = request.tenant
        self.filters["author"].queryset = assignable_users(request.user).order_by("full_name")

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(content__icontains=value) | Q(customer__name__startswith=value) | Q(lead__name__startswith=value)
        )

    def filter_since(self, queryset, name, value):
        return queryset.filter(happened_at__gte=local_midnight(self.tenant, value))


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    currency = django_filters.ChoiceFilter(label=_("Currency"), choices=[])
    since = BoundedDateFilter(
        label=_("From"),
        field_name="ordered_on",
        lookup_expr="gte",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )
    until = BoundedDateFilter(
        label=_("To"),
        field_name="ordered_on",
        lookup_expr="lte",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=OrderStatus.choices, empty_label=_("Any status"))
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


# --- leads and opportunities ---------------------------------------------------------------------------------


# The database functions of the lead search (crm.search_functions; sales' migration lead_search_functions).
LEAD_NAME_CONTAINS = "lead_ids_name_contains"
LEAD_PHONE_ENDING = "lead_ids_phone_ending"


def search_leads(queryset, value: str, tenant, user=None):
    """Phone exact or by its tail, email exact, name or company by prefix, and contains for three characters or
    more (trigram indexes).

    Phones are masked on leads `user` does not own, as on customers, so a tail longer than the digits the mask
    shows matches only `user`'s own leads."""

    text = nfkc(value)
    if not text:
        return queryset
    if "@" in text:
        return queryset.filter(email=normalize_email(text))
    digits = re.sub(r"[\s\-()+]", "", text)
    if digits.isdigit() and len(digits) >= 4:
        phone = normalize_phone(text, tenant.phone_region or "CN")
        if phone:
            return queryset.filter(phone=phone)
        if len(digits) > SHOWN_PHONE_TAIL:
            queryset = queryset.filter(owner=user) if user is not None else queryset.none()
        # A tail, on the reversed-phone index; names and companies by prefix (`StartsWith`, on their pattern
        # indexes) and contains (their trigram indexes): each as row-level security lets an index serve it
        # (crm.expressions, crm.search_functions).
        return queryset.filter(InFunctionArray("pk", LEAD_PHONE_ENDING, digits, TAIL_MOST))
    condition = Q(StartsWith("name", text)) | Q(StartsWith("company", text))
    if len(text) >= 3:
        ids = matching_ids(LEAD_NAME_CONTAINS, text, CONTAINS_MOST)
        condition |= (Q(name__icontains=text) | Q(company__icontains=text)) if ids is None else Q(pk__in=ids)
    return queryset.filter(condition)


OPPORTUNITY_NAME_CONTAINS = "opportunity_ids_name_contains"


def search_opportunities(queryset, value: str, tenant, user=None):
    """The opportunity list's and the top bar's search: the opportunity's name by prefix and, from three characters,
    contained; its customer's name by prefix. Each on an index under row-level security: the name's pattern index
    (`StartsWith`), its trigram index through `opportunity_ids_name_contains` (crm.search_functions), and the
    customers so named, found once on their own pattern index.

    Those customers meet the opportunities one of two ways, by how many opportunities `queryset` holds. An admin's
    (the whole tenant): as an array (`InArray`), one more arm of the BitmapOr on the customer index — inside the OR
    an IN (subquery) is a filter over every opportunity of the tenant, a sequential scan as the app role. Anyone
    else's (their own or their teams' owners', read off the owner index): as IN (subquery), which the planner checks
    per row on the customer's primary key — a rep's few thousand opportunities, instead of probing the customer
    index for every customer so named (25,000 for 杭州: 40 ms against 900 ms on a loaded machine)."""
    text = nfkc(value)
    if not text:
        return queryset
    customers = Customer.objects.filter(StartsWith("name", text), tenant=tenant).order_by().values("pk")
    whole_tenant = user is not None and user.has_any_role(Role.ADMIN)
    by_customer = Q(InArray("customer_id", customers)) if whole_tenant else Q(customer_id__in=customers)
    condition = Q(StartsWith("name", text)) | by_customer
    if len(text) >= 3:
        ids = matching_ids(OPPORTUNITY_NAME_CONTAINS, text, CONTAINS_MOST)
        condition |= Q(name__icontains=text) if ids is None else Q(pk__in=ids)
    return queryset.filter(condition)


LEAD_SORTS = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "-score": ("-score", "-created_at", "-pk"),
    "name": ("name", "pk"),
}
LEAD_SORT_CHOICES = [
    ("-created", _("Newest first")),
    ("created", _("Oldest first")),
    ("-score", _("Highest score")),
    ("name", _("Name A→Z")),
]
OPEN_LEAD_STATUSES = ["new", "contacted", "qualified"]


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        method="filter_status",
        empty_label=None,
        choices=[("open", pgettext_lazy("leads", "Not closed")), *LeadStatus.choices, ("all", _("All"))],
    )
    owner = django_filters.ChoiceFilter(label=_("Owner"), method="filter_owner", choices=[])
    source = django_filters.CharFilter(label=_("Source"), field_name="source", lookup_expr="iexact")
    tag = django_filters.ModelChoiceFilter(label=_("Tag"), queryset=Tag.objects.none(), method="filter_tag")
    origin = django_filters.ChoiceFilter(label=_("Entered through"), choices=LeadOrigin.choices, empty_label=_("Any"))
    duplicates = django_filters.BooleanFilter(
        label=_("Duplicates only"), method="filter_duplicates", widget=django_filters.widgets.forms.CheckboxInput
    )
    min_score = django_filters.NumberFilter(label=_("Score at least"), field_name="score", lookup_expr="gte")
    campaign = django_filters.CharFilter(label=_("Campaign code"), method="filter_campaign", max_length=100)
    team = TeamTreeFilter()
    created_from = LocalDayFilter(label=_("Created from"), field_name="created_at", lookup_expr="gte")
    created_to = LocalDayFilter(label=_("Created until"), field_name="created_at", lookup_expr="lte")
    sort = django_filters.ChoiceFilter(label=_("Sort"), choices=LEAD_SORT_CHOICES, method="sort_by", empty_label=None)

    def __init__(self, data=None, *args, request=None, **kwargs):
        data = data.copy() if data is not None else None
        if data is not None and not data.get("status"):
            data["status"] = "open"
        super().__init__(data, *args, request=request, **kwargs)
        self.tenant = request.tenant
        add_custom_filters(self, self.tenant.pk, "lead")
        self.filters["tag"].queryset = Tag.objects.for_tenant(self.tenant).order_by("name", "pk")
        user = request.user
        limit_team_choices(self, user, self.tenant)
        self.is_manager = user.has_any_role(Role.ADMIN, Role.MANAGER)
        if self.is_manager:
            people = [(str(p.pk), p.full_name or p.email) for p in assignable_users(user).order_by("full_name")]
            self.filters["owner"].extra["choices"] = [
                ("me", _("Me")),
                ("unassigned", _("Nobody yet")),
                *people,
            ]
        else:
            del self.filters["owner"]

    # Set by the search when whole-number or email matches on others' leads were held back (over the rate limit).
    exact_search_limited = False

    def search(self, queryset, name, value):
        user = self.request.user
        matched = search_leads(queryset, value, self.tenant, user)
        exact = exact_identifier(value, self.tenant)
        if (
            isinstance(self.request, HttpRequest)
            and exact is not None
            and exact[0] in ("phone", "email")
            and matched.exclude(owner=user).exists()
            and exact_search_over_limit(self.request)
        ):
            self.exact_search_limited = True
            return matched.filter(owner=user)
        return matched

    @extend_schema_field(OpenApiTypes.INT)  # the API's schema: a tag is chosen by its id
    def filter_tag(self, queryset, name, value):
        return queryset.filter(
            Exists(LeadTag.objects.filter(tenant_id=OuterRef("tenant_id"), tag=value, lead=OuterRef("pk")))
        )

    def filter_campaign(self, queryset, name, value):
        return queryset.from_campaign(value.strip())

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status__in=OPEN_LEAD_STATUSES)
        if value == "all":
            return queryset
        return queryset.filter(status=value)

    def filter_owner(self, queryset, name, value):
        if value == "me":
            return queryset.filter(owner=self.request.user)
        if value == "unassigned":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=int(value)) if str(value).isascii() and str(value).isdigit() else queryset

    def filter_duplicates(self, queryset, name, value):
        return queryset.filter(is_duplicate=True) if value else queryset

    def sort_by(self, queryset, name, value):
        return queryset.order_by(*LEAD_SORTS.get(value, LEAD_SORTS["-created"]))

    @property
    def qs(self):
        qs = super().qs
        if not getattr(self.form, "cleaned_data", {}).get("sort"):
            qs = qs.order_by(*LEAD_SORTS["-created"])
        return qs


OPPORTUNITY_SORTS = {
    "-created": ("-created_at", "-pk"),
    "close": (F("expected_close_date").asc(nulls_last=True), "pk"),
    "-amount": ("-amount", "-pk"),
    "name": ("name", "pk"),
}
OPPORTUNITY_SORT_CHOICES = [
    ("-created", _("Newest first")),
    ("close", _("Closing soonest")),
    ("-amount", _("Largest amount")),
    ("name", _("Name A→Z")),
]


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.pipeline.name} · {obj.name}"


class StageFilter(django_filters.ModelChoiceFilter):
    field_class = StageChoiceField


class OpportunityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        method="filter_status",
        empty_label=None,
        choices=[*StageKind.choices, ("all", _("All"))],
    )
    pipeline = django_filters.ModelChoiceFilter(
        label=_("Pipeline"), queryset=Pipeline.objects.none(), widget=QuickSelect
    )
    stage = StageFilter(label=_("Stage"), queryset=Stage.objects.none(), widget=QuickSelect)
    owner = PersonChoiceFilter(label=_("Owner"))
    close_from = BoundedDateFilter(
        label=_("Closing from"),
        field_name="expected_close_date",
        lookup_expr="gte",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )
    close_to = BoundedDateFilter(
        label=_("Closing by"),
        field_name="expected_close_date",
        lookup_expr="lte",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )
    team = TeamTreeFilter()
    created_from = LocalDayFilter(label=_("Created from"), field_name="created_at", lookup_expr="gte")
    created_to = LocalDayFilter(label=_("Created until"), field_name="created_at", lookup_expr="lte")
    closed_from = LocalDayFilter(label=_("Closed from"), field_name="closed_at", lookup_expr="gte")
    closed_to = LocalDayFilter(label=_("Closed until"), field_name="closed_at", lookup_expr="lte")
    campaign = django_filters.CharFilter(label=_("Campaign code"), method="filter_campaign", max_length=100)
    sort = django_filters.ChoiceFilter(
        label=_("Sort"), choices=OPPORTUNITY_SORT_CHOICES, method="sort_by", empty_label=None
    )

    def __init__(self, data=None, *args, request=None, **kwargs):
        data = data.copy() if data is not None else None
        if data is not None and not data.get("status"):
            data["status"] = "open"
        super().__init__(data, *args, request=request, **kwargs)
        tenant = request.tenant
        add_custom_filters(self, tenant.pk, "opportunity")
        self.tenant = tenant
        limit_team_choices(self, request.user, tenant)
        self.filters["pipeline"].queryset = Pipeline.objects.for_tenant(tenant)
        self.filters["stage"].queryset = Stage.objects.for_tenant(tenant).select_related("pipeline")
        user = request.user
        if user.has_any_role(Role.ADMIN, Role.MANAGER):
            self.filters["owner"].queryset = assignable_users(user).order_by("full_name")
        else:
            del self.filters["owner"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return search_opportunities(queryset, value, self.request.tenant, self.request.user)

    def filter_campaign(self, queryset, name, value):
        return queryset.from_campaign(value.strip())

    def filter_status(self, queryset, name, value):
        return queryset if value == "all" else queryset.filter(status=value)

    def sort_by(self, queryset, name, value):
        return queryset.order_by(*OPPORTUNITY_SORTS.get(value, OPPORTUNITY_SORTS["-created"]))

    @property
    def qs(self):
        qs = super().qs
        if not getattr(self.form, "cleaned_data", {}).get("sort"):
            qs = qs.order_by(*OPPORTUNITY_SORTS["-created"])
        return qs


class ProductFilter(django_filters.FilterSet):
    """The catalogue: search by code or name, a category, active or all (active by default)."""

    SHOW_CHOICES = [("active", _("Active")), ("inactive", _("Not sold any more")), ("all", _("All"))]

    q = django_filters.CharFilter(label=_("Search"), method="search")
    category = django_filters.CharFilter(label=_("Category"), field_name="category")
    show = django_filters.ChoiceFilter(label=_("Show"), choices=SHOW_CHOICES, method="filter_show", empty_label=None)

    def __init__(self, data=None, *args, request=None, **kwargs):
        if data is not None and not data.get("show"):
            data = data.copy()
            data["show"] = "active"
        super().__init__(data, *args, request=request, **kwargs)

    def search(self, queryset, name, value):
        value = nfkc(value).strip()[:100]
        if not value:
            return queryset
        return queryset.filter(Q(code__istartswith=value) | Q(name__icontains=value))

    def filter_show(self, queryset, name, value):
        if value == "active":
            return queryset.filter(is_active=True)
        if value == "inactive":
            return queryset.filter(is_active=False)
        return queryset


class QuoteFilter(django_filters.FilterSet):
    """Quotes: search by number or customer, a status."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Status"), field_name="status", choices=QuoteStatus.choices, empty_label=_("Any status")
    )

    def search(self, queryset, name, value):
        value = nfkc(value).strip()[:100]
        if not value:
            return queryset
        return queryset.filter(Q(number__icontains=value) | Q(customer__name__icontains=value))


class ContractFilter(django_filters.FilterSet):
    """Contracts: search by number, title or customer, a status."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("Status"), field_name="status", choices=ContractStatus.choices, empty_label=_("Any status")
    )

    def search(self, queryset, name, value):
        value = nfkc(value).strip()[:100]
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value) | Q(title__icontains=value) | Q(customer__name__icontains=value)
        )
