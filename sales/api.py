"""Sales in the REST API: leads, opportunities (with their stage moves), follow-ups, tasks and orders. Reads start
from each model's `visible_to(user)` and its list page's FilterSet; writes call the sales services."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.serializers import TenantPrimaryKeyField
from crm.api.viewsets import IdempotentCreateMixin, TenantViewSet
from sales.filters import FollowUpFilter, LeadFilter, OpportunityFilter, OrderFilter, TaskFilter
from sales.models import FollowUp, Lead, Opportunity, Order, Stage, Task
from sales.services.lead import LEAD_FIELDS, lead_create, lead_update
from sales.services.opportunity import opportunity_move

# --- leads ----------------------------------------------------------------------------------------------------


class LeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = [
            "id",
            *LEAD_FIELDS,
            "origin",
            "status",
            "disqualified_reason",
            "owner",
            "score",
            "is_duplicate",
            "customer",
            "contact",
            "opportunity",
            "converted_at",
            "last_followed_up_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [f for f in fields if f not in LEAD_FIELDS]
        # Duplicates and reachability are the lead services' to check, as on the pages.
        validators = []
        extra_kwargs = {"email": {"validators": []}}


class LeadViewSet(IdempotentCreateMixin, mixins.UpdateModelMixin, TenantViewSet):
    """Leads; status, conversion and assignment stay on the pages' actions."""

    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    filter_defaults = {"status": "all"}
    queryset = Lead.objects.none()

    def visible_queryset(self, user):
        return Lead.objects.visible_to(user)

    def perform_create(self, serializer):
        serializer.instance = lead_create(acting_user=self.request.user, data=serializer.validated_data)

    def perform_update(self, serializer):
        lead = serializer.instance
        # The service takes the whole lead: a PATCH changes the fields it names and keeps the others.
        data = {field: getattr(lead, field) for field in LEAD_FIELDS} | serializer.validated_data
        serializer.instance = lead_update(acting_user=self.request.user, lead=lead, data=data)


# --- opportunities --------------------------------------------------------------------------------------------


class OpportunitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Opportunity
        fields = [
            "id",
            "name",
            "customer",
            "contact",
            "pipeline",
            "stage",
            "status",
            "owner",
            "amount",
            "currency",
            "expected_close_date",
            "probability_override",
            "lost_reason",
            "stage_entered_at",
            "closed_at",
            "notes",
            "lead",
            "order",
            "last_followed_up_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class StageMoveSerializer(serializers.Serializer):
    stage = TenantPrimaryKeyField(queryset=Stage.objects.all(), label=_("stage"))
    lost_reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class OpportunityViewSet(TenantViewSet):
    """Opportunities; `POST /opportunities/<id>/move/` moves one to another stage of its pipeline (winning records
    its order, losing needs a reason), exactly as the board does."""

    serializer_class = OpportunitySerializer
    filterset_class = OpportunityFilter
    filter_defaults = {"status": "all"}
    queryset = Opportunity.objects.none()

    def visible_queryset(self, user):
        return Opportunity.objects.visible_to(user)

    @extend_schema(request=StageMoveSerializer, responses=OpportunitySerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        opportunity = self.get_object()
        move = StageMoveSerializer(data=request.data, context=self.get_serializer_context())
        move.is_valid(raise_exception=True)
        moved = opportunity_move(
            acting_user=request.user,
            opportunity=opportunity,
            stage=move.validated_data["stage"],
            lost_reason=move.validated_data.get("lost_reason", ""),
        )
        return Response(OpportunitySerializer(moved, context=self.get_serializer_context()).data)


# --- follow-ups, tasks, orders ----------------------------------------------------------------------------------


class FollowUpSerializer(serializers.ModelSerializer):
    class Meta:
        model = FollowUp
        fields = [
            "id",
            "customer",
            "lead",
            "opportunity",
            "contact",
            "author",
            "kind",
            "happened_at",
            "content",
            "outcome",
            "next_step",
            "edited_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FollowUpViewSet(TenantViewSet):
    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilter
    queryset = FollowUp.objects.none()

    def visible_queryset(self, user):
        return FollowUp.objects.visible_to(user)


class TaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "notes",
            "assignee",
            "customer",
            "follow_up",
            "due_at",
            "remind_at",
            "done_at",
            "done_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TaskViewSet(TenantViewSet):
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    filter_defaults = {"status": "all"}
    queryset = Task.objects.none()

    def visible_queryset(self, user):
        return Task.objects.visible_to(user)


class OrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = [
            "id",
            "customer",
            "ordered_on",
            "amount",
            "currency",
            "reference",
            "items_text",
            "notes",
            "voided_at",
            "void_reason",
            "status",
            "discount_pct",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OrderViewSet(TenantViewSet):
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    queryset = Order.objects.none()

    def visible_queryset(self, user):
        return Order.objects.visible_to(user)
