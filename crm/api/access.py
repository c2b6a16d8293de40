from __future__ import annotations

from django.http import Http404

from crm.access import require_admin
from crm.models import User

from .models import ApiToken, CustomField, WebhookDelivery, WebhookEndpoint


def get_token_for_user(user: User, pk: int) -> ApiToken:
    """A token the user may see (their own; an administrator: the tenant's), or Http404."""
    token = ApiToken.objects.visible_to(user).select_related("user").filter(pk=pk).first()
    if token is None:
        raise Http404
    return token


def get_webhook_for_admin(user: User, pk: int) -> WebhookEndpoint:
    """An endpoint of the user's company, or Http404; PermissionDenied for its users who are not administrators."""
    endpoint = WebhookEndpoint.objects.filter(tenant_id=user.tenant_id, pk=pk).first()
    if endpoint is None:
        raise Http404
    require_admin(user)
    return endpoint


def get_delivery_for_admin(user: User, pk: int) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.filter(tenant_id=user.tenant_id, pk=pk).select_related("endpoint").first()
    if delivery is None:
        raise Http404
    require_admin(user)
    return delivery


def get_custom_field_for_admin(user: User, pk: int) -> CustomField:
    field = CustomField.objects.filter(tenant_id=user.tenant_id, pk=pk).first()
    if field is None:
        raise Http404
    require_admin(user)
    return field
