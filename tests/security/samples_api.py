"""Sample URL arguments for the REST API and its token pages (see samples_crm.py for the contract): each API
record is the same planted record as its page's sample. The API's own sweep, with personal tokens instead of
sessions, is tests/api/test_api_sweep.py."""

from django.test import override_settings

from crm.api.models import ApiToken, CustomField, WebhookDelivery, WebhookEndpoint
from crm.api.services.custom_field import custom_field_save
from crm.api.services.token import token_create
from crm.api.services.webhook import webhook_endpoint_save

from . import samples_customers, samples_leads, samples_quotes, samples_sales, samples_service
from .marks import named


def _token(world):
    token = ApiToken.objects.filter(tenant=world.tenant, user=world.rep1).first()
    if token is None:
        token, _raw = token_create(acting_user=world.rep1, name=named(world, "MARKA token"), scope="read")
    return {"pk": token.pk}


def _webhook(world) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(tenant=world.tenant).first()
    if endpoint is None:
        with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True):
            endpoint = webhook_endpoint_save(
                acting_user=world.admin,
                url="http://127.0.0.1:9/hook",
                events=["customer.created"],
                description=named(world, "MARKA webhook"),
            )
    return endpoint


def _delivery(world):
    endpoint = _webhook(world)
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first() or WebhookDelivery.objects.create(
        tenant=world.tenant, endpoint=endpoint, event="customer.created", payload={"name": named(world, "MARKA")}
    )
    return {"pk": delivery.pk}


def _custom_field(world):
    field = CustomField.objects.filter(tenant=world.tenant).first() or custom_field_save(
        acting_user=world.admin, kind="customer", key="contract_no", label=named(world, "MARKA 合同号"), type="text"
    )
    return {"pk": field.pk}


# API url name → the page sample that plants the same record.
SAME_AS_PAGE = {
    "api:customer-detail": samples_customers.SAMPLES["customers:detail"],
    "api:contact-detail": lambda w: {"pk": samples_customers._contact(w)["contact_pk"]},
    "api:lead-detail": samples_leads.SAMPLES["sales:lead_detail"],
    "api:opportunity-detail": samples_leads.SAMPLES["sales:opportunity_detail"],
    "api:opportunity-move": samples_leads.SAMPLES["sales:opportunity_move"],
    "api:followup-detail": samples_sales.SAMPLES["sales:followup_edit"],
    "api:task-detail": samples_sales.SAMPLES["sales:task_detail"],
    "api:task-complete": samples_sales.SAMPLES["sales:task_detail"],
    "api:order-detail": samples_sales.SAMPLES["sales:order_detail"],
    "api:ticket-detail": samples_service.SAMPLES["service:ticket_detail"],
    "api:ticket-reply": samples_service.SAMPLES["service:ticket_detail"],
    "api:product-detail": samples_quotes.SAMPLES["sales:product_edit"],
}

SAMPLES = {
    "api:token_revoke": _token,
    "api:webhook_edit": lambda w: {"pk": _webhook(w).pk},
    "api:webhook_redeliver": _delivery,
    "api:custom_field_edit": _custom_field,
    "api:custom_field_archive": _custom_field,
    **SAME_AS_PAGE,
}

VIEWERS = {
    "api:token_revoke": "rep1",
}
