"""Sample URL arguments for the approvals pages (see samples_crm.py for the contract): a real consumer's request,
the pool extension asked for by A's rep."""

from crm.approvals.models import ApprovalRequest
from customers.models import Customer, ExtensionRequest
from customers.services.extension import extension_request

from .marks import named


def _request(world):
    customer = Customer.objects.get(tenant=world.tenant, name=named(world, "MARKA 云帆科技有限公司"))
    extension = ExtensionRequest.objects.filter(customer=customer).first() or extension_request(
        acting_user=customer.owner, customer=customer, reason=named(world, "MARKA reason")
    )
    return {"pk": ApprovalRequest.objects.get(kind="pool.extension", object_id=extension.pk).pk}


SAMPLES = {
    "approvals:detail": _request,
    "approvals:decide": _request,
    "approvals:withdraw": _request,
}

VIEWERS = {
    "approvals:detail": "manager",
    "approvals:decide": "manager",
    # The manager sees the request but may not withdraw it (403): the sweep only needs "not 404" from A's side.
    "approvals:withdraw": "manager",
}
