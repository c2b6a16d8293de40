"""Sample URL arguments for the REST API and its token pages (see samples_crm.py for the contract). The API's own
sweep, with personal tokens instead of sessions, is tests/api/test_api_sweep.py."""

from crm.api.models import ApiToken
from crm.api.services.token import token_create
from customers.models import Customer

from .marks import named


def _token(world):
    token = ApiToken.objects.filter(tenant=world.tenant, user=world.rep1).first()
    if token is None:
        token, _raw = token_create(acting_user=world.rep1, name=named(world, "MARKA token"), scope="read")
    return {"pk": token.pk}


def _customer(world):
    return {"pk": Customer.objects.filter(tenant=world.tenant, owner=world.rep1).values_list("pk", flat=True)[0]}


SAMPLES = {
    "api:token_revoke": _token,
    "api:customer-detail": _customer,
}

VIEWERS = {
    "api:token_revoke": "rep1",
}
