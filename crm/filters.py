from datetime import timedelta

import django_filters
from django.core.validators import EMPTY_VALUES
from django.db.models import Q
from django.forms import DateInput
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .api.models import CustomField
from .api.services.custom_field import custom_fields_for, custom_value_filter
from .forms import BoundedDateField, QuickSelect
from .models import AuditEvent, OutboundMessage, Role, Team, User
from .registry import registry
from .workcalendar.selectors import local_midnight


class BoundedDateFilter(django_filters.DateFilter):
    """A list filter's date, bounded like every date query parameter (crm.forms.BoundedDateField)."""

    field_class = BoundedDateField


class LocalDayFilter(BoundedDateFilter):
    """A local day of the company on a timestamp column (`field_name`): with `lookup_expr="gte"` what happened from
    that day's midnight on, with `"lte"` what happened before the next day's midnight. The reports' periods link to
    the lists with these."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", DateInput(attrs={"type": "date"}))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        tenant = self.parent.request.tenant
        if self.lookup_expr == "lte":
            return qs.filter(**{f"{self.field_name}__lt": local_midnight(tenant, value + timedelta(days=1))})
        return qs.filter(**{f"{self.field_name}__gte": local_midnight(tenant, value)})


class TeamTreeFilter(django_filters.ModelChoiceFilter):
    """The team of the record's person (`field_name`: "owner", "assignee") with the teams under it: one indexed
    prefix match on the materialized path. Its choices are set by `limit_team_choices`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label", _("Owner's team"))
        kwargs.setdefault("queryset", Team.objects.none())
        kwargs.setdefault("widget", QuickSelect)
        kwargs.setdefault("field_name", "owner")
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        return qs.filter(**{f"{self.field_name}__team__path__startswith": value.path})


def limit_team_choices(filterset: django_filters.FilterSet, user: User, tenant, name: str = "team") -> None:
    """An admin picks any team of the company, a manager the teams they manage (with those under them); anyone else
    has no team filter (a rep's lists hold only their own records)."""
    if user.has_any_role(Role.ADMIN):
        filterset.filters[name].queryset = Team.objects.for_tenant(tenant).order_by("path")
    elif user.has_any_role(Role.MANAGER):
        filterset.filters[name].queryset = Team.objects.managed_by(user).order_by("path")
    else:
        del filterset.filters[name]


def _custom_field_filter(field: CustomField) -> django_filters.Filter:
    def method(queryset, name, value):
        wanted = custom_value_filter(field, value)
        return queryset.filter(custom__contains=wanted) if wanted is not None else queryset

    common = {"label": field.label, "method": method, "required": False}
    kind = CustomField.Type
    if field.type in (kind.CHOICE, kind.MULTI):
        return django_filters.ChoiceFilter(choices=[(c, c) for c in field.choices], empty_label=_("Any"), **common)
    if field.type == kind.BOOLEAN:
        return django_filters.ChoiceFilter(
            choices=[("true", _("Yes")), ("false", _("No"))], empty_label=_("Any"), **common
        )
    if field.type == kind.DATE:
        return BoundedDateFilter(widget=DateInput(attrs={"type": "date"}), **common)
    return django_filters.CharFilter(max_length=100, **common)


def add_custom_filters(filterset: django_filters.FilterSet, tenant_id: int | None, kind: str) -> None:
    """Give a list's FilterSet one input per custom field of its kind of record in use, `cf_<key>` (the parameter
    the API takes too): an exact value, a JSONB containment on the GIN-indexed `custom` column. A value that does not
    fit its field filters nothing out, as every other bad query parameter does."""
    for field in custom_fields_for(tenant_id, kind):
        custom = _custom_field_filter(field)
        custom.parent = filterset
        filterset.filters[f"cf_{field.key}"] = custom


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    role = django_filters.ChoiceFilter(label=_("Role"), choices=Role.choices, method="filter_role")
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.none())
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = User
        fields = ["q", "role", "team", "is_active"]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["team"].queryset = Team.objects.for_tenant(tenant)

    def search(self, queryset, name, value):
        return queryset.filter(Q(full_name__icontains=value) | Q(email__icontains=value))

    def filter_role(self, queryset, name, value):
        return queryset.filter(roles__contains=[value])


class AuditEventFilter(django_filters.FilterSet):
    """The audit log's filters: the tenant's local days from and to, the actor, the action and the kind of object
    (the actions whose first part names it: "customer" for "customer.transfer"), as the apps registered them."""

    date_from = BoundedDateFilter(
        label=pgettext_lazy("start of a period", "From"), method="filter_from", widget=DateInput(attrs={"type": "date"})
    )
    date_to = BoundedDateFilter(
        label=pgettext_lazy("end of a period", "To"), method="filter_to", widget=DateInput(attrs={"type": "date"})
    )
    actor = django_filters.ModelChoiceFilter(label=_("By"), queryset=User.objects.none())
    action = django_filters.ChoiceFilter(label=_("Action"), choices=(), method="filter_action")
    kind = django_filters.ChoiceFilter(label=_("Kind of object"), choices=(), method="filter_kind")

    class Meta:
        model = AuditEvent
        fields = ["date_from", "date_to", "actor", "action", "kind"]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.filters["actor"].queryset = User.objects.for_tenant(tenant).order_by("full_name", "pk")
        self.filters["action"].extra["choices"] = sorted(
            ((a.key, a.label or a.key) for a in registry.audit_actions()), key=lambda c: str(c[1])
        )
        prefixes = {a.key.split(".", 1)[0] for a in registry.audit_actions()}
        self.filters["kind"].extra["choices"] = [(k.key, k.label) for k in registry.audit_kinds() if k.key in prefixes]

    def filter_from(self, queryset, name, value):
        return queryset.filter(at__gte=local_midnight(self.tenant, value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(at__lt=local_midnight(self.tenant, value + timedelta(days=1)))

    def filter_action(self, queryset, name, value):
        return queryset.filter(action=value)

    def filter_kind(self, queryset, name, value):
        # An exact list rather than a prefix match, so the (tenant, action, at) index serves it.
        actions = [a.key for a in registry.audit_actions() if a.key.split(".", 1)[0] == value]
        return queryset.filter(action__in=actions)


class OutboundMessageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=OutboundMessage.Status.choices)
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=OutboundMessage.Channel.choices)

    class Meta:
        model = OutboundMessage
        fields = ["status", "channel"]
