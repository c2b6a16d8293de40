from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from crm.registry import registry

from .models import ApprovalRequest


class ApprovalRequestFilter(django_filters.FilterSet):
    """On top of `visible_to(user)`: which box (waiting for me, asked by me, everything I may see), status, kind."""

    box = django_filters.ChoiceFilter(
        label=_("Show"),
        choices=[("waiting", _("Waiting for me")), ("asked", _("Asked by me")), ("all", _("All I can see"))],
        method="filter_box",
        empty_label=None,
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ApprovalRequest.Status.choices)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=[])

    class Meta:
        model = ApprovalRequest
        fields = ["box", "status", "kind"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.filters["kind"].extra["choices"] = [(p.key, p.label) for p in registry.approval_policies()]

    def filter_box(self, queryset, name, value):
        if value == "waiting":
            return queryset & ApprovalRequest.objects.waiting_for(self.user)
        if value == "asked":
            return queryset & ApprovalRequest.objects.asked_by(self.user)
        return queryset
