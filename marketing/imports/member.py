"""The campaign member import kind: a sign-in (or invitation) list of an event, one person per row.

Each row is matched, by phone or email, to an existing contact of a live customer (through the customers'
identifiers, then the customer's contacts), else to an existing lead with that phone or email, else it becomes a
new lead carrying the campaign's code (unassigned: managers hand it out), created through the sales service of
every single lead. The person becomes a member of the campaign (attended, or invited when the status column says
so); a person already a member is updated, never added twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.errors import DomainError
from crm.imports.kind import ImportKind, Row, RowStatus
from crm.imports.models import ImportJob
from crm.imports.reader import Target
from crm.models import Role, User
from customers.models import Contact, CustomerIdentifier
from customers.normalize import normalize_email
from customers.services.contact import clean_phone
from marketing.models import CampaignMember, MarketingCampaign
from marketing.services.member import members_add
from sales.models import Lead

ATTENDED_WORDS = {"attended", "yes", "y", "1", "签到", "已签到", "到场", "出席", "是"}
INVITED_WORDS = {"invited", "no", "n", "0", "邀请", "已邀请", "未到", "未签到", "否"}

TARGETS: tuple[Target, ...] = (
    Target("name", gettext_lazy("Name"), ("姓名", "名字", "联系人", "name", "full name"), 100, required=True),
    Target("company", gettext_lazy("Company"), ("公司", "公司名称", "单位", "单位名称", "company"), 200),
    Target("title", gettext_lazy("Job title"), ("职务", "职位", "title", "job title"), 100),
    Target("phone", gettext_lazy("Phone"), ("手机", "手机号", "手机号码", "电话", "联系电话", "phone", "mobile"), 40),
    Target("email", gettext_lazy("Email"), ("邮箱", "电子邮箱", "email", "e-mail"), 254),
    Target("status", gettext_lazy("Attended"), ("签到", "是否签到", "到场", "状态", "status", "attended"), 20),
)


@dataclass
class MemberRow(Row):
    phone: str = ""
    email: str = ""
    member_status: str = CampaignMember.Status.ATTENDED
    contact: Contact | None = None
    lead: Lead | None = None
    lead_values: dict[str, Any] = field(default_factory=dict)


class MemberKind(ImportKind):
    key = "campaign_member"
    label = gettext_lazy("Campaign members")
    title = gettext_lazy("Import a sign-in list")
    description = gettext_lazy(
        "One person per row, below a header row: a name and a phone or an email. Someone matching a contact (by "
        "phone or email) joins the campaign as that contact; anyone else becomes a lead carrying the campaign's "
        "code."
    )
    mapping_hint = gettext_lazy("Choose the name column, and the phone or the email column at least.")
    targets = TARGETS
    audit_action = "campaign_member.import"
    list_url_name = "campaigns:list"
    upload_url_name = "campaigns:member_import"
    roles = (Role.ADMIN, Role.MANAGER)
    refusal = gettext_lazy("Only managers and administrators import campaign members.")
    result_text = gettext_lazy("Members imported: %(created)d; rows rejected: %(rejected)d.")

    @classmethod
    def check_mapping(cls, columns: dict[str, int]) -> None:
        super().check_mapping(columns)
        if "phone" not in columns and "email" not in columns:
            raise DomainError(_("Choose the column that holds the phone or the email."), field="phone")

    @classmethod
    def _campaigns(cls, user: User):
        return MarketingCampaign.objects.filter(tenant_id=user.tenant_id).order_by("-starts_on", "-pk")

    @classmethod
    def destinations(cls, user: User) -> list[tuple[str, Any]]:
        return [(str(c.pk), f"{c.name} ({c.code})") for c in cls._campaigns(user)[:200]]

    @classmethod
    def options_for(cls, user: User, destination: str | None) -> dict[str, Any]:
        campaigns = cls._campaigns(user)
        if destination is None:
            # One campaign: the form shows no choice.
            only = list(campaigns[:2])
            if len(only) != 1:
                raise DomainError(_("Choose the campaign."), field="target")
            return {"campaign": only[0].pk}
        if not destination.isdigit() or not campaigns.filter(pk=int(destination)).exists():
            raise DomainError(_("Choose the campaign."), field="target")
        return {"campaign": int(destination)}

    @classmethod
    def destination_label(cls, job: ImportJob) -> str:
        campaign = MarketingCampaign.objects.filter(tenant_id=job.tenant_id, pk=(job.options or {}).get("campaign"))
        return str(campaign.first() or "—")

    def __init__(self, *, job: ImportJob, user: User):
        super().__init__(job=job, user=user)
        self.campaign: MarketingCampaign | None = None
        self.seen: dict[tuple[str, str], int] = {}
        self.created_count = 0

    def check_options(self) -> None:
        self.require_import(self.user)
        self.campaign = self._campaigns(self.user).filter(pk=(self.job.options or {}).get("campaign")).first()
        if self.campaign is None:
            raise DomainError(_("The campaign is gone; upload the file again."))

    def clean(self, number: int, cells: list[str]) -> MemberRow:
        row = self.row(number, cells, MemberRow)
        if not row.get("name").strip():
            row.errors.setdefault("name", _("The name is missing."))
        if row.get("phone") and "phone" not in row.errors:
            try:
                row.phone = clean_phone(row.get("phone").strip(), self.tenant, "phone")
            except DomainError as exc:
                row.errors["phone"] = exc.message
        if row.get("email") and "email" not in row.errors:
            row.email = normalize_email(row.get("email"))
            try:
                validate_email(row.email)
            except ValidationError:
                row.errors["email"] = _("“%(value)s” is not a valid email address.") % {"value": row.get("email")}
        if not row.errors and not (row.phone or row.email):
            row.errors["phone"] = _("Give a phone number or an email, so the person can be matched or reached.")
        status = row.get("status").strip().lower()
        if status in INVITED_WORDS:
            row.member_status = CampaignMember.Status.INVITED
        elif status and status not in ATTENDED_WORDS:
            row.errors["status"] = _("Write 签到/attended or 未到/invited.")
        if row.errors:
            row.status = RowStatus.INVALID
        return row

    def _contacts(self, rows: list[MemberRow]) -> dict[tuple[str, str], Contact]:
        """The contacts the rows' phones and emails belong to: the identifiers (indexed) name the live customers,
        then those customers' contacts are searched (indexed by customer)."""
        keys = {("phone", r.phone) for r in rows if r.phone} | {("email", r.email) for r in rows if r.email}
        if not keys:
            return {}
        query = Q()
        for kind, value in keys:
            query |= Q(kind=kind, value=value)
        customer_ids = CustomerIdentifier.objects.filter(tenant_id=self.tenant.pk).filter(query).values("customer_id")
        contacts = Contact.objects.filter(
            tenant_id=self.tenant.pk, customer_id__in=customer_ids, customer__deleted_at__isnull=True
        ).select_related("customer")
        found: dict[tuple[str, str], Contact] = {}
        for contact in contacts.order_by("-is_primary", "pk"):
            for key in (("phone", contact.mobile), ("phone", contact.phone), ("email", normalize_email(contact.email))):
                if key in keys:
                    found.setdefault(key, contact)
        return found

    def _leads(self, rows: list[MemberRow]) -> dict[tuple[str, str], Lead]:
        phones = {r.phone for r in rows if r.phone}
        emails = {r.email for r in rows if r.email}
        if not (phones or emails):
            return {}
        leads = Lead.objects.filter(tenant_id=self.tenant.pk).filter(Q(phone__in=phones) | Q(email__in=emails))
        found: dict[tuple[str, str], Lead] = {}
        for lead in leads.order_by("is_duplicate", "created_at", "pk"):
            if lead.phone in phones:
                found.setdefault(("phone", lead.phone), lead)
            if lead.email in emails:
                found.setdefault(("email", lead.email), lead)
        return found

    def classify(self, batch: list[tuple[int, list[str]]]) -> list[MemberRow]:
        """Three queries a batch: identifiers with their contacts, and the leads with those phones or emails."""
        rows = [self.clean(number, cells) for number, cells in batch]
        valid = [r for r in rows if r.status == RowStatus.VALID]
        contacts = self._contacts(valid)
        leads = self._leads(valid)
        for row in valid:
            keys = [k for k in (("phone", row.phone), ("email", row.email)) if k[1]]
            earlier = next((self.seen[k] for k in keys if k in self.seen), None)
            if earlier is not None:
                row.refuse("phone" if row.phone else "email", _("Repeats row %(row)d of this file.") % {"row": earlier})
                continue
            for key in keys:
                self.seen[key] = row.number
            row.contact = next((contacts[k] for k in keys if k in contacts), None)
            if row.contact is not None:
                row.note = _("Matches the contact %(name)s of %(customer)s.") % {
                    "name": row.contact.name,
                    "customer": row.contact.customer.name,
                }
                continue
            row.lead = next((leads[k] for k in keys if k in leads), None)
            if row.lead is not None:
                row.note = _("Matches the lead %(name)s.") % {"name": row.lead.name}
            else:
                row.note = _("A new lead with the campaign's code.")
                row.lead_values = {
                    "name": row.get("name").strip(),
                    "company": row.get("company").strip(),
                    "title": row.get("title").strip(),
                    "phone": row.phone,
                    "email": row.email,
                }
        return rows

    def create(self, rows: list[MemberRow]) -> list[MemberRow]:
        members_add(
            acting_user=self.user,
            campaign=self.campaign,
            people=[
                {
                    "name": row.get("name").strip()[:100],
                    "status": row.member_status,
                    "contact": row.contact,
                    "lead": row.lead,
                    "lead_values": row.lead_values,
                }
                for row in rows
            ],
        )
        self.created_count += len(rows)
        return []

    def finish(self) -> dict[str, Any]:
        return {"campaign": self.campaign.pk, "count": self.created_count}
