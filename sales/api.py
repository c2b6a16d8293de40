"""Sales in the REST API: leads, opportunities (with their stage moves), follow-ups, tasks, orders and the product
catalogue. Reads start from each model's `visible_to(user)` and its list page's FilterSet; writes call the sales
services, which check who may write what exactly as on the pages."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.serializers import TenantPrimaryKeyField, custom_on_create, custom_values_field
from crm.api.viewsets import IdempotentCreateMixin, TenantViewSet
from crm.models import User
from customers.models import Contact, Customer, Tag
from sales.filters import FollowUpFilter, LeadFilter, OpportunityFilter, OrderFilter, ProductFilter, TaskFilter
from sales.models import FollowUp, Lead, Opportunity, Order, Pipeline, Product, Stage, Task
from sales.services.followup import followup_log
from sales.services.lead import LEAD_FIELDS, lead_create, lead_update
from sales.services.opportunity import opportunity_create, opportunity_move, opportunity_update
from sales.services.order import order_create
from sales.services.product import product_save
from sales.services.task import task_create, task_set_done, task_update

# --- leads ----------------------------------------------------------------------------------------------------


class TenantSlugField(serializers.SlugRelatedField):
    """A reference to a row of the request's tenant by a name; another tenant's names are unknown."""

    def get_queryset(self):
        return super().get_queryset().for_tenant(self.context["request"].tenant)


class LeadSerializer(serializers.ModelSerializer):
    custom = custom_values_field()
    # The product line: a product of the company's catalogue, by id.
    product = TenantPrimaryKeyField(queryset=Product.objects.all(), allow_null=True, required=False)
    # The company's tags (Settings → Customer levels and tags), by name.
    tags = TenantSlugField(slug_field="name", queryset=Tag.objects.all(), many=True, required=False)

    class Meta:
        model = Lead
        fields = [
            "id",
            *LEAD_FIELDS,
            "product",
            "tags",
            "custom",
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
        read_only_fields = [f for f in fields if f not in [*LEAD_FIELDS, "product", "tags", "custom"]]
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
        return Lead.objects.visible_to(user).prefetch_related("tags")

    def perform_create(self, serializer):
        data = serializer.validated_data | {"custom": custom_on_create(serializer.validated_data)}
        serializer.instance = lead_create(acting_user=self.request.user, data=data)

    def perform_update(self, serializer):
        lead = serializer.instance
        # The service takes the whole lead: a PATCH changes the fields it names and keeps the others.
        data = {field: getattr(lead, field) for field in LEAD_FIELDS} | serializer.validated_data
        serializer.instance = lead_update(acting_user=self.request.user, lead=lead, data=data)


# --- opportunities --------------------------------------------------------------------------------------------


class OpportunitySerializer(serializers.ModelSerializer):
    """An opportunity. `customer`, `pipeline` and `stage` are given when it is created (stages then move through
    `move/`); `probability_override` empty follows the stage's probability."""

    customer = TenantPrimaryKeyField(queryset=Customer.objects.all())
    contact = TenantPrimaryKeyField(queryset=Contact.objects.all(), allow_null=True, required=False)
    pipeline = TenantPrimaryKeyField(queryset=Pipeline.objects.all(), allow_null=True, required=False)
    stage = TenantPrimaryKeyField(queryset=Stage.objects.all(), allow_null=True, required=False)
    owner = TenantPrimaryKeyField(queryset=User.objects.all(), required=False)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True)
    custom = custom_values_field()

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
            "custom",
            "lead",
            "order",
            "last_followed_up_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "status",
            "lost_reason",
            "stage_entered_at",
            "closed_at",
            "lead",
            "order",
            "last_followed_up_at",
            "created_at",
            "updated_at",
        ]


OPPORTUNITY_CREATED_ONLY = ("customer", "pipeline", "stage")


class StageMoveSerializer(serializers.Serializer):
    stage = TenantPrimaryKeyField(queryset=Stage.objects.all(), label=_("stage"))
    lost_reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class OpportunityViewSet(IdempotentCreateMixin, mixins.UpdateModelMixin, TenantViewSet):
    """Opportunities: create, change (a PATCH keeps what it leaves out; the customer, pipeline and stage are not
    changed here), and `POST /opportunities/<id>/move/` to another stage of its pipeline (winning records its order,
    losing needs a reason), exactly as the board does."""

    serializer_class = OpportunitySerializer
    filterset_class = OpportunityFilter
    filter_defaults = {"status": "all"}
    queryset = Opportunity.objects.none()

    def visible_queryset(self, user):
        return Opportunity.objects.visible_to(user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = opportunity_create(
            acting_user=self.request.user,
            customer=data["customer"],
            name=data.get("name", ""),
            # Without one, the company's first pipeline in use, as the page offers first.
            pipeline=data.get("pipeline")
            or Pipeline.objects.filter(tenant_id=self.request.user.tenant_id, is_active=True)
            .order_by("position", "pk")
            .first(),
            stage=data.get("stage"),
            amount=data.get("amount"),
            currency=data.get("currency", ""),
            expected_close_date=data.get("expected_close_date"),
            owner=data.get("owner"),
            contact=data.get("contact"),
            probability=data.get("probability_override"),
            notes=data.get("notes", ""),
            custom=custom_on_create(data),
        )

    def perform_update(self, serializer):
        opportunity = serializer.instance
        data = serializer.validated_data
        for field in OPPORTUNITY_CREATED_ONLY:
            if field in data and data[field] != getattr(opportunity, field):
                raise serializers.ValidationError({field: [_("Set when the opportunity is created.")]})
        current = {
            "name": opportunity.name,
            "amount": opportunity.amount,
            "currency": opportunity.currency,
            "expected_close_date": opportunity.expected_close_date,
            "probability_override": opportunity.probability_override,
            "contact": opportunity.contact,
            "owner": opportunity.owner,
            "notes": opportunity.notes,
        }
        merged = current | {key: value for key, value in data.items() if key in current}
        serializer.instance = opportunity_update(
            acting_user=self.request.user,
            opportunity=opportunity,
            name=merged["name"],
            amount=merged["amount"],
            currency=merged["currency"] or opportunity.currency,
            expected_close_date=merged["expected_close_date"],
            probability=merged["probability_override"],
            contact=merged["contact"],
            owner=merged["owner"] or opportunity.owner,
            notes=merged["notes"],
            custom=data.get("custom"),
        )

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


# --- follow-ups, tasks, orders, products ------------------------------------------------------------------------


class FollowUpSerializer(serializers.ModelSerializer):
    """A follow-up on exactly one of a customer, a lead or an opportunity (which counts for its customer too)."""

    customer = TenantPrimaryKeyField(queryset=Customer.objects.all(), allow_null=True, required=False)
    lead = TenantPrimaryKeyField(queryset=Lead.objects.all(), allow_null=True, required=False)
    opportunity = TenantPrimaryKeyField(queryset=Opportunity.objects.all(), allow_null=True, required=False)
    contact = TenantPrimaryKeyField(queryset=Contact.objects.all(), allow_null=True, required=False)

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
        read_only_fields = ["author", "edited_at", "created_at", "updated_at"]
        extra_kwargs = {"happened_at": {"required": False}}

    def validate(self, attrs):
        subjects = [name for name in ("customer", "lead", "opportunity") if attrs.get(name) is not None]
        if len(subjects) != 1:
            raise serializers.ValidationError({"customer": [_("Give exactly one of customer, lead and opportunity.")]})
        return attrs


class FollowUpViewSet(IdempotentCreateMixin, TenantViewSet):
    """Follow-ups: list, read and log a new one (editing stays on the page, within its time limit)."""

    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilter
    queryset = FollowUp.objects.none()

    def visible_queryset(self, user):
        return FollowUp.objects.visible_to(user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = followup_log(
            acting_user=self.request.user,
            kind=data["kind"],
            content=data.get("content", ""),
            customer=data.get("customer"),
            lead=data.get("lead"),
            opportunity=data.get("opportunity"),
            outcome=data.get("outcome") or FollowUp.Outcome.NEUTRAL,
            happened_at=data.get("happened_at"),
            contact=data.get("contact"),
            next_step=data.get("next_step", ""),
        )


class TaskSerializer(serializers.ModelSerializer):
    assignee = TenantPrimaryKeyField(queryset=User.objects.all(), required=False)
    customer = TenantPrimaryKeyField(queryset=Customer.objects.all(), allow_null=True, required=False)

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
        read_only_fields = ["follow_up", "done_at", "done_by", "created_at", "updated_at"]


class TaskDoneSerializer(serializers.Serializer):
    done = serializers.BooleanField(default=True, help_text="false reopens a done task.")


TASK_FIELDS = ("title", "due_at", "remind_at", "assignee", "customer", "notes")


class TaskViewSet(IdempotentCreateMixin, mixins.UpdateModelMixin, TenantViewSet):
    """Tasks: create, change (a PATCH keeps what it leaves out), and `POST /tasks/<id>/complete/` to mark one done
    (`{"done": false}` reopens it); done twice is done once."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    filter_defaults = {"status": "all"}
    queryset = Task.objects.none()

    def visible_queryset(self, user):
        return Task.objects.visible_to(user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = task_create(
            acting_user=self.request.user,
            title=data.get("title", ""),
            due_at=data["due_at"],
            remind_at=data.get("remind_at"),
            assignee=data.get("assignee"),
            customer=data.get("customer"),
            notes=data.get("notes", ""),
        )

    def perform_update(self, serializer):
        task = serializer.instance
        data = {field: getattr(task, field) for field in TASK_FIELDS} | serializer.validated_data
        serializer.instance = task_update(
            acting_user=self.request.user, task=task, **{field: data[field] for field in TASK_FIELDS}
        )

    @extend_schema(request=TaskDoneSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        task = self.get_object()
        done = TaskDoneSerializer(data=request.data)
        done.is_valid(raise_exception=True)
        task = task_set_done(acting_user=request.user, task=task, done=done.validated_data["done"])
        return Response(TaskSerializer(task, context=self.get_serializer_context()).data)


class OrderSerializer(serializers.ModelSerializer):
    """An order; a discount above the company's threshold waits for approval (`status`), as on the page."""

    customer = TenantPrimaryKeyField(queryset=Customer.objects.all())
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False, allow_null=True)
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True)

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
        read_only_fields = ["voided_at", "void_reason", "status", "discount_pct", "created_at", "updated_at"]


class OrderViewSet(IdempotentCreateMixin, TenantViewSet):
    """Orders: list, read and record one (voiding stays on the order's page, with its reason)."""

    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    queryset = Order.objects.none()

    def visible_queryset(self, user):
        return Order.objects.visible_to(user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = order_create(
            acting_user=self.request.user,
            customer=data["customer"],
            ordered_on=data["ordered_on"],
            currency=data.get("currency") or self.request.user.tenant.currency,
            amount=data.get("amount"),
            items_text=data.get("items_text", ""),
            reference=data.get("reference", ""),
            notes=data.get("notes", ""),
        )


PRODUCT_FIELDS = ["code", "name", "category", "unit", "list_price", "currency", "tax_rate", "is_active", "description"]


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", *PRODUCT_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        # The code's uniqueness (whatever its case) is the product service's to check, as on the page.
        validators = []


class ProductViewSet(IdempotentCreateMixin, mixins.UpdateModelMixin, TenantViewSet):
    """The product catalogue: everyone reads it (every product unless `show=active` or `show=inactive`);
    administrators add and change products."""

    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    filter_defaults = {"show": "all"}
    queryset = Product.objects.none()

    def visible_queryset(self, user):
        return Product.objects.visible_to(user)

    def perform_create(self, serializer):
        defaults = {field: Product._meta.get_field(field).get_default() for field in PRODUCT_FIELDS}
        serializer.instance = product_save(acting_user=self.request.user, data=defaults | serializer.validated_data)

    def perform_update(self, serializer):
        product = serializer.instance
        data = {field: getattr(product, field) for field in PRODUCT_FIELDS} | serializer.validated_data
        serializer.instance = product_save(acting_user=self.request.user, data=data, product=product)
