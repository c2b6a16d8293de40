"""Writes of approvals: submit, decide (approve or reject a step), withdraw.

Each is atomic and audited. Deciding locks the request row, so of two deciders at once exactly one decides and the
other is told who did; the owning app hears the outcome through its policy's `on_decided`, inside the same
transaction (so its change and the decision commit together, or neither does).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.errors import DomainError
from crm.models import User
from crm.registry import ApprovalPolicy, registry
from crm.services.audit import audit
from crm.services.notification import lazy_format, notify

from .access import can_decide
from .models import ApprovalRequest, ApprovalStep
from .selectors import step_deciders, step_recipients


def _policy_for(kind: str, obj: Any) -> ApprovalPolicy:
    policy = registry.approval_policy(kind)
    if obj._meta.label_lower != policy.model:
        raise ValueError(f"Policy {kind!r} approves {policy.model}, not {obj._meta.label_lower}")
    return policy


def _object_of(request: ApprovalRequest) -> Any | None:
    model = request.content_type.model_class()
    return model._base_manager.filter(pk=request.object_id, tenant_id=request.tenant_id).first()


def _tell_deciders(request: ApprovalRequest, step: ApprovalStep) -> None:
    for recipient in step_recipients(requester=request.requested_by, approver=step.approver):
        notify(
            recipient=recipient,
            title=lazy_format(
                gettext_lazy("%(name)s asks for your approval (%(kind)s): %(title)s"),
                name=request.requested_by.full_name,
                kind=registry.approval_policy(request.kind).label,
                title=request.title,
            ),
            body=request.summary,
            url=reverse("approvals:detail", args=[request.pk]),
            robot_event="approval_waiting",
            key=f"approval:{request.pk}:step:{step.order}",
        )


def _source_text(label: Any) -> str:
    """A step's label as written in the code (English), so each reader sees it in their language
    (`{% translate step.label %}`); labels built at run time are stored as they are."""
    with translation.override(None):
        return str(label)


def approval_submit(
    *,
    acting_user: User,
    kind: str,
    obj: Any,
    title: str,
    summary: str = "",
    amount: Decimal | None = None,
    currency: str = "",
) -> ApprovalRequest:
    """Ask for approval of `obj` under the policy registered as `kind`: the steps whose threshold the amount
    exceeds, in order. Refused when no step applies, when a step has no one who may decide it, or when the object
    already waits for approval of this kind."""
    policy = _policy_for(kind, obj)
    if obj.tenant_id != acting_user.tenant_id or not acting_user.is_active:
        raise PermissionDenied(_("You cannot ask for approval of this."))
    rules = [
        rule
        for rule in policy.steps(acting_user.tenant, obj)
        if rule.above is None or (amount is not None and amount > rule.above)
    ]
    if not rules:
        raise DomainError(_("No approval is needed for this."))
    for rule in rules:
        if not step_deciders(requester=acting_user, approver=rule.approver).exists():
            raise DomainError(
                _("No one can decide the step “%(step)s” for you; ask an administrator to give your team a manager.")
                % {"step": rule.label}
            )
    content_type = ContentType.objects.get_for_model(obj)
    try:
        with transaction.atomic():
            request = ApprovalRequest.objects.create(
                tenant_id=acting_user.tenant_id,
                kind=kind,
                content_type=content_type,
                object_id=obj.pk,
                title=title[:255],
                summary=summary,
                amount=amount,
                currency=currency,
                url=policy.url(obj),
                requested_by=acting_user,
                created_by=acting_user,
            )
            steps = ApprovalStep.objects.bulk_create(
                [
                    ApprovalStep(
                        tenant_id=acting_user.tenant_id,
                        request=request,
                        order=order,
                        approver=rule.approver,
                        label=_source_text(rule.label)[:255],
                        status=ApprovalStep.Status.PENDING if order == 1 else ApprovalStep.Status.WAITING,
                    )
                    for order, rule in enumerate(rules, start=1)
                ]
            )
            audit(
                tenant=acting_user.tenant,
                actor=acting_user,
                action="approval.submit",
                obj=request,
                details={"kind": kind, "object": f"{content_type.app_label}.{content_type.model}:{obj.pk}"},
            )
            _tell_deciders(request, steps[0])
    except IntegrityError as exc:
        raise DomainError(_("This is already waiting for approval.")) from exc
    return request


def approval_decide(
    *, acting_user: User, request_id: int, step: int, approve: bool, comment: str = ""
) -> ApprovalRequest:
    """Approve or reject step number `step` (the one the decider saw) of a pending request. The last approval
    approves the request; a rejection rejects it. A step someone else decided meanwhile is refused, never taken for
    the next one. Raises ApprovalRequest.DoesNotExist for a request outside the user's tenant."""
    comment = (comment or "").strip()
    with transaction.atomic():
        request = (
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("requested_by", "content_type")
            .get(pk=request_id, tenant_id=acting_user.tenant_id)
        )
        # Stamped under the request's lock: a step is never dated before the step decided ahead of it.
        now = timezone.now()
        if not request.is_pending:
            raise DomainError(_already_decided(request))
        if request.current_step != step:
            decided = ApprovalStep.objects.filter(request=request, order=step).select_related("decided_by").first()
            name = decided.decided_by.full_name if decided and decided.decided_by_id else _("someone")
            raise DomainError(_("%(name)s already decided this step.") % {"name": name})
        if not can_decide(acting_user, request):
            raise PermissionDenied(_("You may not decide this request."))
        if _object_of(request) is None:
            # The object was deleted meanwhile: nothing is left to approve, so the request closes unanswered.
            ApprovalStep.objects.filter(
                request=request, status__in=[ApprovalStep.Status.PENDING, ApprovalStep.Status.WAITING]
            ).update(status=ApprovalStep.Status.CANCELLED, updated_at=now)
            audit(tenant=acting_user.tenant, actor=acting_user, action="approval.orphaned", obj=request)
            _finish(request, status=ApprovalRequest.Status.WITHDRAWN, by=None, at=now)
            return request
        current = ApprovalStep.objects.get(request=request, order=step)
        current.status = ApprovalStep.Status.APPROVED if approve else ApprovalStep.Status.REJECTED
        current.decided_by, current.decided_at, current.comment = acting_user, now, comment
        current.save(update_fields=["status", "decided_by", "decided_at", "comment", "updated_at"])
        audit(
            tenant=acting_user.tenant,
            actor=acting_user,
            action="approval.approve" if approve else "approval.reject",
            obj=request,
            details={"step": current.order, "comment": comment},
        )
        following = ApprovalStep.objects.filter(request=request, order__gt=current.order).order_by("order")
        next_step = following.first() if approve else None
        if next_step is not None:
            next_step.status = ApprovalStep.Status.PENDING
            next_step.save(update_fields=["status", "updated_at"])
            request.current_step = next_step.order
            request.save(update_fields=["current_step", "updated_at"])
            _tell_deciders(request, next_step)
            return request
        if not approve:
            following.update(status=ApprovalStep.Status.CANCELLED, updated_at=now)
        _finish(
            request,
            status=ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.REJECTED,
            by=acting_user,
            at=now,
        )
        notify(
            recipient=request.requested_by,
            title=lazy_format(
                gettext_lazy("Approved (%(kind)s): %(title)s")
                if approve
                else gettext_lazy("Rejected (%(kind)s): %(title)s"),
                kind=registry.approval_policy(request.kind).label,
                title=request.title,
            ),
            body=comment,
            url=reverse("approvals:detail", args=[request.pk]),
            key=f"approval-decided:{request.pk}",
        )
    return request


def approval_withdraw(*, acting_user: User, request_id: int) -> ApprovalRequest:
    """The requester takes back a pending request; the steps still open are no longer needed."""
    with transaction.atomic():
        request = (
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("requested_by", "content_type")
            .get(pk=request_id, tenant_id=acting_user.tenant_id)
        )
        now = timezone.now()
        if request.requested_by_id != acting_user.pk:
            raise PermissionDenied(_("Only the requester withdraws a request."))
        if not request.is_pending:
            raise DomainError(_already_decided(request))
        ApprovalStep.objects.filter(
            request=request, status__in=[ApprovalStep.Status.PENDING, ApprovalStep.Status.WAITING]
        ).update(status=ApprovalStep.Status.CANCELLED, updated_at=now)
        audit(tenant=acting_user.tenant, actor=acting_user, action="approval.withdraw", obj=request)
        _finish(request, status=ApprovalRequest.Status.WITHDRAWN, by=acting_user, at=now)
    return request


def _finish(request: ApprovalRequest, *, status: str, by: User | None, at) -> None:
    request.status, request.decided_by, request.decided_at = status, by, at
    request.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    obj = _object_of(request)
    if obj is not None:
        registry.approval_policy(request.kind).on_decided(request, obj)


def _already_decided(request: ApprovalRequest) -> str:
    if request.status == ApprovalRequest.Status.WITHDRAWN and request.decided_by_id is None:
        return _("What this request was about no longer exists; the request is closed.")
    if request.status == ApprovalRequest.Status.WITHDRAWN:
        return _("%(name)s withdrew this request.") % {"name": request.requested_by.full_name}
    decider = request.decided_by.full_name if request.decided_by_id else _("someone")
    if request.status == ApprovalRequest.Status.APPROVED:
        return _("%(name)s already approved this request.") % {"name": decider}
    return _("%(name)s already rejected this request.") % {"name": decider}


def approval_supersede(*, acting_user: User, request_id: int) -> ApprovalRequest:
    """Close a pending request because what it asked about changed (e.g. a contract's amount): marked withdrawn by
    `acting_user`, its open steps cancelled, the policy told (as for a withdrawal). The caller has checked that
    `acting_user` may change the object, and asks again if it must."""
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update(of=("self",)).get(
            pk=request_id, tenant_id=acting_user.tenant_id
        )
        if not request.is_pending:
            raise DomainError(_already_decided(request))
        now = timezone.now()
        ApprovalStep.objects.filter(
            request=request, status__in=[ApprovalStep.Status.PENDING, ApprovalStep.Status.WAITING]
        ).update(status=ApprovalStep.Status.CANCELLED, updated_at=now)
        audit(tenant=acting_user.tenant, actor=acting_user, action="approval.supersede", obj=request)
        _finish(request, status=ApprovalRequest.Status.WITHDRAWN, by=acting_user, at=now)
    return request
