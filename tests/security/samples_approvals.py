"""Sample URL arguments for the approvals pages (see samples_crm.py for the contract)."""

from django.contrib.contenttypes.models import ContentType

from crm.approvals.models import ApprovalRequest, ApprovalStep


def _request(world):
    request, created = ApprovalRequest.objects.get_or_create(
        tenant=world.tenant,
        kind="sample",
        content_type=ContentType.objects.get_for_model(world.team1),
        object_id=world.team1.pk,
        status="pending",
        defaults={"title": "MARKA approval", "summary": "MARKA details", "requested_by": world.rep1},
    )
    if created:
        ApprovalStep.objects.create(
            tenant=world.tenant, request=request, order=1, approver="manager", label="MARKA step", status="pending"
        )
    return {"pk": request.pk}


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
