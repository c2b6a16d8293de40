"""The customers of the REST API (/api/v1/customers/ and /api/v1/contacts/): the list page's selector and
FilterSet, the customer services for writes (DELETE moves a customer to the recycle bin, as the page does). Pool
customers are not here, as they are not on /customers/."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, serializers

from crm.api.serializers import TenantPrimaryKeyField, custom_on_create, custom_values_field
from crm.api.viewsets import IdempotentCreateMixin, TenantViewSet
from customers.access import sees_personal_data
from customers.filters import CustomerFilter
from customers.models import Contact, Customer, CustomerLevel
from customers.normalize import mask
from customers.querysets import visible_scope
from customers.services.contact import CONTACT_FIELDS, contact_delete, contact_save
from customers.services.customer import customer_create, customer_update
from customers.services.trash import customer_trash

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


class CustomerViewSet(IdempotentCreateMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, TenantViewSet):
    """Customers: create, change, and DELETE to the recycle bin (restorable from the page for 30 days) by their
    owner, the owner's manager or an administrator."""

    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    queryset = Customer.objects.none()  # for the schema; requests use visible_queryset

    def visible_queryset(self, user):
        # As the list page: the owners and shares as literal ids, so a rep's cursor pages read their owner's index.
        return Customer.objects.visible_to(user, visible_scope(user)).select_related("level")

    def perform_create(self, serializer):
        data = serializer.validated_data | {"custom": custom_on_create(serializer.validated_data)}
        serializer.instance = customer_create(acting_user=self.request.user, data=data)

    def perform_update(self, serializer):
        serializer.instance = customer_update(
            acting_user=self.request.user, customer=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance):
        customer_trash(acting_user=self.request.user, customer=instance)


PERSONAL_FIELDS = {"mobile": "phone", "phone": "phone", "email": "email"}


class VisibleCustomerField(serializers.PrimaryKeyRelatedField):
    """A customer the user sees on /customers/; any other id is refused as unknown."""

    def get_queryset(self):
        return Customer.objects.visible_to(self.context["request"].user)


class ContactSerializer(serializers.ModelSerializer):
    """A contact; its phones and email masked unless the user owns its customer, as on the customer page. A masked
    value sent back unchanged keeps the stored one. `customer` is given when the contact is added."""

    customer = VisibleCustomerField(queryset=Customer.objects.none())
    mobile = serializers.CharField(max_length=40, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    marketing_consent = serializers.BooleanField(required=False)
    custom = custom_values_field()

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
            "lunar_birthday_month",
            "lunar_birthday_day",
            "lunar_birthday_leap",
            "prefers_lunar_birthday",
            "is_primary",
            "marketing_consent",
            "notes",
            "custom",
            "erased_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["erased_at", "created_at", "updated_at"]
        # Duplicates (防撞单) are the contact service's to check, as on the pages.
        validators = []

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not sees_personal_data(self.context["request"].user, instance.customer):
            for field, kind in PERSONAL_FIELDS.items():
                data[field] = mask(kind, data[field])
        return data


class ContactViewSet(IdempotentCreateMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, TenantViewSet):
    """Contacts of the customers the user sees: add, change (a PATCH keeps what it leaves out) and remove, by those
    who may change the customer. Phones and emails are checked against every other customer (防撞单)."""

    serializer_class = ContactSerializer
    queryset = Contact.objects.none()

    def visible_queryset(self, user):
        return Contact.objects.visible_to(user).select_related("customer")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data["custom"] = custom_on_create(data)
        customer = data.pop("customer")
        serializer.instance = contact_save(acting_user=self.request.user, customer=customer, data=data)

    def perform_update(self, serializer):
        contact = serializer.instance
        data = dict(serializer.validated_data)
        if data.pop("customer", contact.customer) != contact.customer:
            raise serializers.ValidationError({"customer": [_("A contact stays with its customer.")]})
        masked = not sees_personal_data(self.request.user, contact.customer)
        for field, kind in PERSONAL_FIELDS.items():
            stored = getattr(contact, field)
            if masked and field in data and data[field] == mask(kind, stored):
                data[field] = stored
        merged = {field: getattr(contact, field) for field in CONTACT_FIELDS} | data
        serializer.instance = contact_save(
            acting_user=self.request.user, customer=contact.customer, data=merged, contact=contact
        )

    def perform_destroy(self, instance):
        contact_delete(acting_user=self.request.user, contact=instance)
