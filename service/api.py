"""Tickets in the REST API (read): the ticket list's selector and FilterSet."""

from __future__ import annotations

from rest_framework import serializers

from crm.api.viewsets import TenantViewSet
from service.filters import TicketFilter
from service.models import Ticket


class TicketSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "subject",
            "description",
            "customer",
            "contact",
            "category",
            "priority",
            "status",
            "channel",
            "assignee",
            "team",
            "tags",
            "first_response_due_at",
            "resolution_due_at",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TicketViewSet(TenantViewSet):
    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    # Every ticket the user can see, whatever its status, unless the request narrows it.
    filter_defaults = {"status": "any", "view": "all"}
    queryset = Ticket.objects.none()

    def visible_queryset(self, user):
        return Ticket.objects.visible_to(user)
