import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .forms import BoundedDateField
from .models import AuditEvent, OutboundMessage, Role, Team, User


class BoundedDateFilter(django_filters.DateFilter):
    """A list filter's date, bounded like every date query parameter (crm.forms.BoundedDateField)."""

    field_class = BoundedDateField


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
    action = django_filters.CharFilter(label=_("Action"), lookup_expr="startswith")
    actor = django_filters.ModelChoiceFilter(label=_("By"), queryset=User.objects.none())

    class Meta:
        model = AuditEvent
        fields = ["action", "actor"]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["actor"].queryset = User.objects.for_tenant(tenant)


class OutboundMessageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=OutboundMessage.Status.choices)
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=OutboundMessage.Channel.choices)

    class Meta:
        model = OutboundMessage
        fields = ["status", "channel"]
