"""Sample URL arguments for the REST API and its token pages (see samples_crm.py for the contract): each API
record is the same planted record as its page's sample. The API's own sweep, with personal tokens instead of
sessions, is tests/api/test_api_sweep.py."""

from crm.api.models import ApiToken
from crm.api.services.token import token_create

from . import samples_customers, samples_leads, samples_sales, samples_service
from .marks import named


def _token(world):
    token = ApiToken.objects.filter(tenant=world.tenant, user=world.rep1).first()
    if token is None:
        token, _raw = token_create(acting_user=world.rep1, name=named(world, "MARKA token"), scope="read")
    return {"pk": token.pk}


# API url name → the page sample that plants the same record.
SAME_AS_PAGE = {
    "api:customer-detail": samples_customers.SAMPLES["customers:detail"],
    "api:contact-detail": lambda w: {"pk": samples_customers._contact(w)["contact_pk"]},
    "api:lead-detail": samples_leads.SAMPLES["sales:lead_detail"],
    "api:opportunity-detail": samples_leads.SAMPLES["sales:opportunity_detail"],
    "api:opportunity-move": samples_leads.SAMPLES["sales:opportunity_move"],
    "api:followup-detail": samples_sales.SAMPLES["sales:followup_edit"],
    "api:task-detail": samples_sales.SAMPLES["sales:task_detail"],
    "api:order-detail": samples_sales.SAMPLES["sales:order_detail"],
    "api:ticket-detail": samples_service.SAMPLES["service:ticket_detail"],
}

SAMPLES = {"api:token_revoke": _token, **SAME_AS_PAGE}

VIEWERS = {
    "api:token_revoke": "rep1",
}
