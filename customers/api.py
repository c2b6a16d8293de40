"""The customers of the REST API (/api/v1/customers/): the list page's selector and FilterSet, the customer
services for writes. Pool customers are not here, as they are not on /customers/."""

from __future__ import annotations

from rest_framework import mixins, serializers

from crm.api.serializers import TenantPrimaryKeyField
from crm.api.viewsets import IdempotentCreateMixin, TenantViewSet
from customers.access import sees_personal_data
from customers.filters import CustomerFilter
from customers.models import Contact, Customer, CustomerLevel
from customers.normalize import mask
from customers.services.customer import customer_create, customer_update

WRITABLE = [
    "kind",
    "name",
    "status",
    "level",
    "industry",
    "region",
    "source",
    "is_key_account",
    "credit_code",
    "address",
    "website",
    "notes",
]


class CustomerSerializer(serializers.ModelSerializer):
    level = TenantPrimaryKeyField(queryset=CustomerLevel.objects.all(), allow_null=True, required=False)
    custom = serializers.DictField(
        required=False,
        help_text="Custom fields by key (Settings → Custom fields); checked by type. Filter lists with cf_<key>=<value>.",
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            *WRITABLE,
            "custom",
            "owner",
            "pool",
            "owned_since",
            "last_followed_up_at",
            "last_deal_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "owner",
            "pool",
            "owned_since",
            "last_followed_up_at",
            "last_deal_at",
            "created_at",
            "updated_at",
        ]
        # Uniqueness and duplicates are the services' to check (identifiers, 防撞单), as on the pages.
        validators = []


class CustomerViewSet(IdempotentCreateMixin, mixins.UpdateModelMixin, TenantViewSet):
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    queryset = Customer.objects.none()  # for the schema; requests use visible_queryset

    def visible_queryset(self, user):
        return Customer.objects.visible_to(user).select_related("level")

    def perform_create(self, serializer):
        serializer.instance = customer_create(acting_user=self.request.user, data=serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = customer_update(
            acting_user=self.request.user, customer=serializer.instance, data=serializer.validated_data
        )


PERSONAL_FIELDS = {"mobile": "phone", "phone": "phone", "email": "email"}


class ContactSerializer(serializers.ModelSerializer):
    """A contact; its phones and email masked unless the user owns its customer, as on the customer page."""

    class Meta:
        model = Contact
        fields = [
            "id",
            "customer",
            "name",
            "title",
            "mobile",
            "phone",
            "email",
            "wechat",
            "birthday",
            "is_primary",
            "marketing_consent",
            "notes",
            "erased_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not sees_personal_data(self.context["request"].user, instance.customer):
            for field, kind in PERSONAL_FIELDS.items():
                data[field] = mask(kind, data[field])
        return data


class ContactViewSet(TenantViewSet):
    """Contacts of the customers the user sees (read only here: contacts are changed on the customer page)."""

    serializer_class = ContactSerializer
    queryset = Contact.objects.none()

    def visible_queryset(self, user):
        return Contact.objects.visible_to(user).select_related("customer")
