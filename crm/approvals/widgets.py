"""What approvals show in places crm owns: the decision buttons on approval notifications, the home widget."""

from __future__ import annotations

from crm.registry import registry

from .forms import DecisionForm
from .models import ApprovalRequest


def decision_context(
    approval: ApprovalRequest, *, decidable: bool, error: str = "", htmx: bool = True, next: str = ""
) -> dict:
    """The context of the decision partial (templates/approvals/request/partials/decision.html). With `next`, the
    buttons post a plain form and the decision returns to that page (e.g. an app's own list of its requests)."""
    return {
        "approval": approval,
        "decidable": decidable,
        "form": DecisionForm(initial={"step": approval.current_step}),
        "error": error,
        "htmx": htmx and not next,
        "next": next,
    }


def kind_labels() -> dict[str, object]:
    return {policy.key: policy.label for policy in registry.approval_policies()}


def notification_decisions(request, notifications: list) -> dict[int, dict]:
    """Approve/reject buttons for the notifications keyed "approval:<request id>:step:<n>", two queries for a page."""
    wanted: dict[int, tuple[int, int]] = {}
    for n in notifications:
        parts = n.key.split(":")
        if len(parts) == 4 and parts[1].isdigit() and parts[3].isdigit():
            wanted[n.pk] = (int(parts[1]), int(parts[3]))
    ids = {request_id for request_id, _step in wanted.values()}
    approvals = {
        a.pk: a
        for a in ApprovalRequest.objects.visible_to(request.user)
        .filter(pk__in=ids)
        .select_related("requested_by", "decided_by")
    }
    waiting = set(ApprovalRequest.objects.waiting_for(request.user).filter(pk__in=ids).values_list("pk", flat=True))
    contexts = {}
    for notification_id, (request_id, step) in wanted.items():
        approval = approvals.get(request_id)
        if approval is not None:
            decidable = request_id in waiting and approval.current_step == step
            contexts[notification_id] = decision_context(approval, decidable=decidable)
    return contexts


def waiting_for_me(request) -> dict:
    waiting = ApprovalRequest.objects.waiting_for(request.user)
    return {
        "count": waiting.count(),
        "latest": list(waiting.select_related("requested_by").order_by("-created_at", "-id")[:5]),
    }
