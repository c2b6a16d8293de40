"""Who may see and change sales records: `get_<noun>_for_user` answers 404 for missing and not-yours alike;
`can_*` predicates and `require_*` checks; the checks the activity services share."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import assignable_users, is_sales_user, require_admin
from crm.errors import DomainError
from crm.models import Role, Team, User
from customers.models import Customer
from sales.models import (
    Appointment,
    Contract,
    ContractAttachment,
    FollowUp,
    Lead,
    LeadScoringRule,
    Opportunity,
    Order,
    Pipeline,
    Product,
    Quote,
    Stage,
    Task,
)


def check_assignee(acting_user: User, assignee: User, field: str = "assignee") -> None:
    if assignee.tenant_id != acting_user.tenant_id or not assignable_users(acting_user).filter(pk=assignee.pk).exists():
        raise DomainError(_("Choose yourself or an active member of a team you manage."), field=field)


def check_customer(acting_user: User, customer: Customer | None, *, for_change: bool = False) -> None:
    """The same refusal for another tenant's, a missing and an invisible customer: nothing about it is revealed."""
    if customer is None:
        return
    visible = customer.tenant_id == acting_user.tenant_id and (
        Customer.objects.visible_to(acting_user).filter(pk=customer.pk).exists()
    )
    if not visible:
        raise DomainError(_("Choose a customer you can see."), field="customer")
    if for_change and not Customer.objects.editable_by(acting_user).filter(pk=customer.pk).exists():
        raise PermissionDenied(_("You may see this customer but not change it."))


def require_task_access(user: User, task: Task) -> None:
    if not Task.objects.visible_to(user).filter(pk=task.pk).exists():
        raise PermissionDenied(_("This task is not yours."))


def followup_editable_by(user: User, follow_up: FollowUp) -> bool:
    return follow_up.author_id == user.pk and timezone.now() <= follow_up.editable_until()


def can_change_appointment(user: User, appointment: Appointment) -> bool:
    """The owner, the owner's manager (any team above theirs) or an admin of the tenant; attendees only look."""
    if appointment.tenant_id != user.tenant_id:
        return False
    if appointment.owner_id == user.pk or user.has_any_role(Role.ADMIN):
        return True
    if not user.has_any_role(Role.MANAGER):
        return False
    return User.objects.filter(pk=appointment.owner_id, team__in=Team.objects.managed_by(user).values("pk")).exists()


def is_lead_manager(user: User) -> bool:
    """Managers and admins see unassigned leads and hand leads out."""
    return user.has_any_role(Role.ADMIN, Role.MANAGER)


def can_work_leads(user: User) -> bool:
    return is_sales_user(user)


def require_lead_access(user: User, lead: Lead) -> None:
    """Whoever sees a lead may work on it (its owner, the owner's managers, admins; managers for unassigned)."""
    if lead.tenant_id != user.tenant_id or not Lead.objects.visible_to(user).filter(pk=lead.pk).exists():
        raise PermissionDenied(_("This lead is not yours."))


def can_change_opportunity(user: User, opportunity: Opportunity) -> bool:
    """Whoever sees an opportunity may work on it: its owner, the owner's managers, admins."""
    return (
        opportunity.tenant_id == user.tenant_id
        and Opportunity.objects.visible_to(user).filter(pk=opportunity.pk).exists()
    )


def get_task_for_user(user: User, pk: int) -> Task:
    return get_object_or_404(
        Task.objects.visible_to(user).select_related("assignee", "customer", "created_by", "done_by"), pk=pk
    )


def get_follow_up_for_user(user: User, pk: int) -> FollowUp:
    return get_object_or_404(
        FollowUp.objects.visible_to(user).select_related("customer", "author", "contact", "lead", "opportunity"),
        pk=pk,
    )


def get_appointment_for_user(user: User, pk: int, *, for_change: bool = False) -> Appointment:
    appointment = get_object_or_404(
        Appointment.objects.visible_to(user).select_related("owner", "customer", "created_by"), pk=pk
    )
    if for_change and not can_change_appointment(user, appointment):
        raise PermissionDenied(_("Only the owner, their manager or an administrator may change this appointment."))
    return appointment


def get_order_for_user(user: User, pk: int) -> Order:
    return get_object_or_404(
        Order.objects.visible_to(user).select_related("customer", "created_by", "voided_by"), pk=pk
    )


def can_edit_customer(request: HttpRequest, customer: Customer) -> bool:
    """Whether the request's user may change `customer`, asked once per customer and request (panels ask often)."""
    cache = request.__dict__.setdefault("_sales_can_edit", {})
    if customer.pk not in cache:
        cache[customer.pk] = Customer.objects.editable_by(request.user).filter(pk=customer.pk).exists()
    return cache[customer.pk]


def require_leads(user: User) -> None:
    if not can_work_leads(user):
        raise PermissionDenied(_("Only sales reps, managers and administrators work with leads."))


def get_lead_for_user(user: User, pk: int) -> Lead:
    """The lead if `user` may see it, else 404 (the same for missing, invisible and another tenant's)."""
    require_leads(user)
    return get_object_or_404(
        Lead.objects.visible_to(user).select_related(
            "owner", "customer", "contact", "opportunity", "web_form", "converted_by", "created_by", "product"
        ),
        pk=pk,
    )


def get_scoring_rule_for_admin(user: User, pk: int) -> LeadScoringRule:
    """Looked up within the tenant first: another tenant's id is 404 for everyone, then the role decides 403."""
    rule = get_object_or_404(LeadScoringRule.objects.for_tenant(user.tenant), pk=pk)
    require_admin(user)
    return rule


def require_sales(user: User) -> None:
    if not is_sales_user(user):
        raise PermissionDenied(_("Only sales reps, managers and administrators work with opportunities."))


def get_opportunity_for_user(user: User, pk: int) -> Opportunity:
    """The opportunity if `user` may see it, else 404 (the same for missing, invisible, another tenant's)."""
    require_sales(user)
    return get_object_or_404(
        Opportunity.objects.visible_to(user).select_related(
            "customer", "contact", "pipeline", "stage", "owner", "lead", "order", "created_by"
        ),
        pk=pk,
    )


def get_pipeline_for_admin(user: User, pk: int) -> Pipeline:
    """Looked up within the tenant first: another tenant's id is 404 for everyone, then the role decides 403."""
    pipeline = get_object_or_404(Pipeline.objects.for_tenant(user.tenant), pk=pk)
    require_admin(user)
    return pipeline


def get_stage_for_admin(user: User, pk: int) -> Stage:
    stage = get_object_or_404(Stage.objects.for_tenant(user.tenant).select_related("pipeline"), pk=pk)
    require_admin(user)
    return stage


def get_product_for_user(user: User, pk: int) -> Product:
    """A product of the user's tenant (everyone reads the catalogue); 404 for another tenant's."""
    return get_object_or_404(Product.objects.visible_to(user), pk=pk)


def get_product_for_admin(user: User, pk: int) -> Product:
    """Looked up within the tenant first: another tenant's id is 404 for everyone, then the role decides 403."""
    product = get_product_for_user(user, pk)
    require_admin(user)
    return product


def get_quote_for_user(user: User, pk: int) -> Quote:
    """The quote if `user` sees its customer or its opportunity, else 404 (the same for another tenant's)."""
    require_sales(user)
    return get_object_or_404(
        Quote.objects.visible_to(user).select_related("customer", "opportunity", "owner", "created_by", "previous"),
        pk=pk,
    )


def get_contract_for_user(user: User, pk: int) -> Contract:
    """The contract if `user` sees its customer, its opportunity or owns it, else 404 (the same for another
    tenant's)."""
    require_sales(user)
    return get_object_or_404(
        Contract.objects.visible_to(user).select_related("customer", "opportunity", "quote", "owner"), pk=pk
    )


def get_attachment_for_user(user: User, pk: int) -> ContractAttachment:
    """A contract's file if `user` may see the contract's customer, else 404 (the same for another tenant's)."""
    require_sales(user)
    return get_object_or_404(
        ContractAttachment.objects.filter(
            tenant_id=user.tenant_id,
            contract__customer__in=Customer.objects.visible_to(user).values("pk"),
        ),
        pk=pk,
    )


def sees_lead_personal_data(user: User, lead: Lead) -> bool:
    """Whether `user` sees the lead's phone, email and WeChat id unmasked: only on the leads they own, as on
    customers (customers.access.sees_personal_data); unowned leads are masked to everyone, like the pool's
    customers. Others reveal them, logged and capped (sales.services.lead_privacy)."""
    return lead.owner_id is not None and lead.owner_id == user.pk
