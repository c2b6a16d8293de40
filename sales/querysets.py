"""Reads of the sales app. Every model a user reaches has `visible_to(user)`, one SQL query, failing closed.

- Tasks: assigned to the user; for managers also those of their teams (recursively); for admins all.
- Appointments: owned or attended by the user; for managers also those of their teams' members; admins all.
- Follow-ups and orders follow their customer: `Customer.objects.visible_to(user)` (DESIGN.md §3); a follow-up on a
  lead or an opportunity also follows that lead or opportunity.
- Leads and opportunities: their owner, the managers of the owner's team (recursively) and admins; leads nobody
  holds yet are visible to managers and admins, who hand them out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.apps import apps
from django.db import transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Value, When

from crm.access import is_sales_user, is_tenant_user
from crm.expressions import InArray
from crm.models import Role, Team, TenantQuerySet
from customers.querysets import PoolQuerySet, visible_owners
from sales.signals import opportunities_written_announce


def _visible_customers(user):
    return apps.get_model("customers", "Customer").objects.visible_to(user).values("pk")


class TaskQuerySet(TenantQuerySet):
    def visible_to(self, user) -> TaskQuerySet:
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return qs
        condition = Q(assignee_id=user.pk)
        if user.has_any_role(Role.MANAGER):
            condition |= Q(assignee__team__in=Team.objects.managed_by(user).values("pk"))
        return qs.filter(condition)

    def open(self) -> TaskQuerySet:
        return self.filter(done_at__isnull=True)

    def done(self) -> TaskQuerySet:
        return self.filter(done_at__isnull=False)

    def pending_reminders(self, now: datetime) -> TaskQuerySet:
        """Reminders that are due and not sent, of open tasks (served by the partial index)."""
        return self.filter(
            remind_at__isnull=False, remind_at__lte=now, reminder_sent_at__isnull=True, done_at__isnull=True
        )


class AppointmentQuerySet(TenantQuerySet):
    def live(self) -> AppointmentQuerySet:
        return self.filter(cancelled_at__isnull=True)

    def visible_to(self, user) -> AppointmentQuerySet:
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return qs
        attendee = apps.get_model("sales", "AppointmentAttendee").objects.filter(
            tenant_id=user.tenant_id, appointment=OuterRef("pk")
        )
        condition = Q(owner_id=user.pk) | Q(Exists(attendee.filter(user_id=user.pk)))
        if user.has_any_role(Role.MANAGER):
            managed = Team.objects.managed_by(user).values("pk")
            condition |= Q(owner__team__in=managed) | Q(Exists(attendee.filter(user__team__in=managed)))
        return qs.filter(condition)

    def involving(self, user_ids: Iterable[int]) -> AppointmentQuerySet:
        """Appointments any of these people own or attend."""
        user_ids = list(user_ids)
        attendee = apps.get_model("sales", "AppointmentAttendee").objects.filter(
            appointment=OuterRef("pk"), user_id__in=user_ids
        )
        return self.filter(Q(owner_id__in=user_ids) | Q(Exists(attendee)))

    def overlapping(self, start: datetime, end: datetime) -> AppointmentQuerySet:
        """Live appointments sharing some time with [start, end): touching ends do not overlap."""
        return self.live().filter(start_at__lt=end, end_at__gt=start)


class FollowUpQuerySet(TenantQuerySet):
    def visible_to(self, user) -> FollowUpQuerySet:
        """A follow-up follows its customer, its lead and its opportunity: visible if any of them is. One SQL query.

        For an admin, who sees nearly every row of the tenant, each subject is a primary-key probe per row (EXISTS):
        a page or a capped count stops after the rows it needs. For everyone else the visible customers, leads and
        opportunities are each computed once, before the scan (`InArray`), and the conditions become one BitmapOr
        over the follow-ups' customer, lead and opportunity indexes: only the rows they return are read.
        (`customer_id IN (visible customers)` inside an OR is a filter over every follow-up of the tenant instead,
        re-running the subquery per row once its result outgrows work_mem.) The visible customers are read as two
        sets, those of the visible owners and those shared with the user: the first is then an index-only scan of the
        customers' (tenant, owner, id) index, where one set (owner OR shared) reads every customer's row (45,000 for a
        manager of ten reps)."""
        if not is_tenant_user(user):
            return self.none()
        Lead = apps.get_model("sales", "Lead")
        Opportunity = apps.get_model("sales", "Opportunity")
        Customer = apps.get_model("customers", "Customer")
        qs = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return qs.filter(
                Q(Exists(Customer.objects.visible_to(user).filter(pk=OuterRef("customer_id"))))
                | Q(Exists(Lead.objects.visible_to(user).filter(pk=OuterRef("lead_id"))))
                | Q(Exists(Opportunity.objects.visible_to(user).filter(pk=OuterRef("opportunity_id"))))
            )
        by_owner, shared = Customer.objects.visible_id_sets(user)
        return qs.filter(
            Q(InArray("customer_id", by_owner))
            | Q(InArray("customer_id", shared))
            | Q(InArray("lead_id", Lead.objects.visible_to(user).order_by().values("pk")))
            | Q(InArray("opportunity_id", Opportunity.objects.visible_to(user).order_by().values("pk")))
        )


class OrderQuerySet(TenantQuerySet):
    def visible_to(self, user) -> OrderQuerySet:
        if not is_tenant_user(user):
            return self.none()
        return self.filter(tenant_id=user.tenant_id, customer__in=_visible_customers(user))

    def valid(self) -> OrderQuerySet:
        """Not voided (whatever the approval of its discount)."""
        return self.filter(voided_at__isnull=True)

    def counted(self) -> OrderQuerySet:
        """The orders that count as deals: not voided and confirmed (a discount waiting for approval or rejected
        does not count). Every figure built on orders starts here."""
        return self.filter(voided_at__isnull=True, status="confirmed")


class LeadQuerySet(TenantQuerySet):
    def visible_to(self, user) -> LeadQuerySet:
        """A lead's owner, the managers of the owner's team (recursively), admins; unassigned leads to managers and
        admins. One SQL query; fails closed."""
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return qs
        if user.has_any_role(Role.MANAGER):
            # The owners are computed once (an InitPlan): the leads come from the owner index, not a join per row.
            return qs.filter(Q(InArray("owner_id", visible_owners(user))) | Q(owner__isnull=True))
        return qs.filter(owner_id=user.pk)

    def open(self) -> LeadQuerySet:
        return self.filter(status__in=["new", "contacted", "qualified"])

    def unassigned(self) -> LeadQuerySet:
        return self.filter(owner__isnull=True)

    def from_campaign(self, code) -> LeadQuerySet:
        """Leads attributed to a marketing campaign: those carrying its code (web form utm_campaign, import column,
        or typed in). `code` may be an OuterRef (a campaign list's subquery). Served by the partial index
        sales_lead_campaign_idx."""
        return self.filter(campaign=code) if code else self.none()

    def first_touch(self, code) -> LeadQuerySet:
        """Converted leads of a campaign that were their customer's first touch: no earlier lead of the same
        customer carries another campaign's code. A customer (and every opportunity of it) belongs to one campaign
        only: the one that brought it first."""
        Lead = apps.get_model("sales", "Lead")
        earlier = (
            Lead.objects.filter(tenant_id=OuterRef("tenant_id"), customer_id=OuterRef("customer_id"))
            .filter(
                Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
            )
            .exclude(campaign="")
            .exclude(campaign=OuterRef("campaign"))
        )
        return self.from_campaign(code).filter(customer__isnull=False).exclude(Exists(earlier))

    def in_pools_for(self, user) -> LeadQuerySet:
        """Open leads nobody owns in the lead pools `user` may see (drives /lead-pools/). Only sales roles see
        them: fails closed for anyone else."""
        if not is_sales_user(user):
            return self.none()
        pool = apps.get_model("sales", "LeadPool")
        return self.filter(
            tenant_id=getattr(user, "tenant_id", None),
            owner__isnull=True,
            status__in=["new", "contacted", "qualified"],
            pool__in=pool.objects.visible_to(user).values("pk"),
        )


class LeadPoolQuerySet(PoolQuerySet):
    """Lead pools, seen by the teams they name exactly as customer pools are."""

    team_link = ("sales", "LeadPoolTeam")


class OpportunityQuerySet(TenantQuerySet):
    def visible_to(self, user) -> OpportunityQuerySet:
        """An opportunity's owner, the managers of the owner's team (recursively) and admins. One SQL query."""
        if not is_tenant_user(user):
            return self.none()
        qs = self.filter(tenant_id=user.tenant_id)
        if user.has_any_role(Role.ADMIN):
            return qs
        if user.has_any_role(Role.MANAGER):
            # The owners are computed once (an InitPlan): the opportunities come from the owner index.
            return qs.filter(InArray("owner_id", visible_owners(user)))
        return qs.filter(owner_id=user.pk)

    def open(self) -> OpportunityQuerySet:
        return self.filter(status="open")

    def update_announced(self, **fields) -> int:
        """`QuerySet.update()` for opportunities that also announces which ones changed (`sales.signals`), so what
        follows them row by row (the reports' funnel facts) stays right; the ids are read before the update, in
        the same transaction."""
        with transaction.atomic():
            by_tenant: dict[int, list[int]] = {}
            for tenant_id, pk in self.order_by().values_list("tenant_id", "pk"):
                by_tenant.setdefault(tenant_id, []).append(pk)
            changed = self.update(**fields)
            for tenant_id, ids in by_tenant.items():
                opportunities_written_announce(tenant_id=tenant_id, opportunity_ids=ids)
        return changed

    def from_campaign(self, code) -> OpportunityQuerySet:
        """Opportunities a marketing campaign brought (first touch): every opportunity of a customer whose first
        campaign lead carries `code` (`LeadQuerySet.first_touch`). Converted customers and their deals inherit the
        code of the lead they came from; sales never needs the campaign itself."""
        if not code:
            return self.none()
        # A campaign's OuterRef (a campaign list's subquery) sits one level further out inside the leads' subquery.
        lead_code = OuterRef(code) if isinstance(code, OuterRef) else code
        customers = apps.get_model("sales", "Lead").objects.first_touch(lead_code).values("customer_id")
        return self.filter(customer_id__in=customers)


class StageQuerySet(TenantQuerySet):
    def ordered(self) -> StageQuerySet:
        """Board order: the open stages by position, then won, then lost."""
        weight = Case(
            When(kind="open", then=Value(0)),
            When(kind="won", then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        return self.order_by(weight, "position", "pk")

    def active(self) -> StageQuerySet:
        return self.filter(is_active=True)


class ProductQuerySet(TenantQuerySet):
    def visible_to(self, user) -> ProductQuerySet:
        """The catalogue of the user's tenant: everyone in it reads it. Fails closed."""
        if not is_tenant_user(user):
            return self.none()
        return self.filter(tenant_id=user.tenant_id)

    def active(self) -> ProductQuerySet:
        return self.filter(is_active=True)


def _visible_opportunities(user):
    return apps.get_model("sales", "Opportunity").objects.visible_to(user).values("pk")


class QuoteQuerySet(TenantQuerySet):
    def visible_to(self, user) -> QuoteQuerySet:
        """A quote follows its customer and its opportunity: whoever sees either sees the quote. One SQL query;
        fails closed."""
        if not is_tenant_user(user):
            return self.none()
        return self.filter(tenant_id=user.tenant_id).filter(
            Q(customer__in=_visible_customers(user)) | Q(opportunity__in=_visible_opportunities(user))
        )


class ContractQuerySet(TenantQuerySet):
    def visible_to(self, user) -> ContractQuerySet:
        """A contract follows its customer and its opportunity, and its owner sees it. One SQL query; fails closed."""
        if not is_tenant_user(user):
            return self.none()
        return self.filter(tenant_id=user.tenant_id).filter(
            Q(customer__in=_visible_customers(user))
            | Q(opportunity__in=_visible_opportunities(user))
            | Q(owner_id=user.pk)
        )


class InstalmentQuerySet(TenantQuerySet):
    def visible_to(self, user) -> InstalmentQuerySet:
        return self.filter(contract__in=apps.get_model("sales", "Contract").objects.visible_to(user).values("pk"))

    def open(self) -> InstalmentQuerySet:
        return self.filter(received__lt=F("amount"))


class ReceiptQuerySet(TenantQuerySet):
    def visible_to(self, user) -> ReceiptQuerySet:
        return self.filter(contract__in=apps.get_model("sales", "Contract").objects.visible_to(user).values("pk"))
