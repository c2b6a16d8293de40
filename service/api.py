"""Tickets in the REST API: the ticket list's selector and FilterSet for reads; create, edit (subject, priority,
category, tags and status) and `reply/` through the ticket services, for the service desk as on its pages."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.serializers import TenantPrimaryKeyField, custom_on_create, custom_values_field
from crm.api.viewsets import IdempotentCreateMixin, TenantViewSet
from crm.models import User
from customers.models import Contact, Customer
from service.access import require_desk
from service.filters import TicketFilter
from service.models import Status, Ticket, TicketCategory, TicketMessage
from service.services.ticket import ticket_create, ticket_reply, ticket_set_status, ticket_update


class TicketSerializer(serializers.ModelSerializer):
    """A ticket. `customer`, `contact`, `description`, `channel` and `assignee` are given when it is created
    (without an assignee the dispatch rules choose); `status` changes like the ticket page's status buttons."""

    customer = TenantPrimaryKeyField(queryset=Customer.objects.all())
    contact = TenantPrimaryKeyField(queryset=Contact.objects.all(), allow_null=True, required=False)
    category = TenantPrimaryKeyField(queryset=TicketCategory.objects.all(), allow_null=True, required=False)
    assignee = TenantPrimaryKeyField(queryset=User.objects.all(), allow_null=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    custom = custom_values_field()

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
            "custom",
            "first_response_due_at",
            "resolution_due_at",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "number",
            "team",
            "first_response_due_at",
            "resolution_due_at",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]


TICKET_CREATED_ONLY = ("customer", "contact", "description", "channel", "assignee")


class TicketMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketMessage
        fields = ["id", "ticket", "kind", "author", "body", "created_at"]
        read_only_fields = fields


class TicketReplySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)
    public = serializers.BooleanField(default=True, help_text="false: an internal note, not sent to the customer.")
    status = serializers.ChoiceField(choices=Status.choices, required=False, help_text="The ticket's new status.")


class TicketViewSet(IdempotentCreateMixin, mixins.UpdateModelMixin, TenantViewSet):
    """Tickets: every one the user sees, whatever its status unless the request narrows it; the desk creates,
    edits and answers them (`POST /tickets/<id>/reply/`: a public reply is emailed to the contact)."""

    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    # Every ticket the user can see, whatever its status, unless the request narrows it.
    filter_defaults = {"status": "any", "view": "all"}
    queryset = Ticket.objects.none()

    def visible_queryset(self, user):
        return Ticket.objects.visible_to(user)

    def perform_create(self, serializer):
        require_desk(self.request.user)
        data = serializer.validated_data
        ticket = ticket_create(
            tenant=self.request.tenant,
            acting_user=self.request.user,
            customer=data["customer"],
            contact=data.get("contact"),
            subject=data.get("subject", ""),
            description=data.get("description", ""),
            channel=data.get("channel") or Ticket._meta.get_field("channel").default,
            priority=data.get("priority") or Ticket._meta.get_field("priority").default,
            category=data.get("category"),
            tags=data.get("tags", ()),
            assignee=data.get("assignee"),
            custom=custom_on_create(data),
        )
        if data.get("status") and data["status"] != ticket.status:
            ticket = ticket_set_status(acting_user=self.request.user, ticket=ticket, status=data["status"])
        serializer.instance = ticket

    def perform_update(self, serializer):
        ticket = serializer.instance
        data = serializer.validated_data
        for field in TICKET_CREATED_ONLY:
            if field in data and data[field] != getattr(ticket, field):
                raise serializers.ValidationError({field: [_("Set when the ticket is created.")]})
        with transaction.atomic():
            ticket = ticket_update(
                acting_user=self.request.user,
                ticket=ticket,
                subject=data.get("subject", ticket.subject),
                priority=data.get("priority", ticket.priority),
                category=data["category"] if "category" in data else ticket.category,
                tags=data.get("tags", ticket.tags),
                custom=data.get("custom"),
            )
            if "status" in data and data["status"] != ticket.status:
                ticket = ticket_set_status(acting_user=self.request.user, ticket=ticket, status=data["status"])
        serializer.instance = ticket

    @extend_schema(request=TicketReplySerializer, responses={201: TicketMessageSerializer})
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        ticket = self.get_object()
        reply = TicketReplySerializer(data=request.data)
        reply.is_valid(raise_exception=True)
        message = ticket_reply(
            acting_user=request.user,
            ticket=ticket,
            body=reply.validated_data["body"],
            public=reply.validated_data["public"],
            status=reply.validated_data.get("status"),
        )
        return Response(TicketMessageSerializer(message).data, status=status.HTTP_201_CREATED)
