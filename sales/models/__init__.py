"""The rep's daily work: follow-ups (跟进记录), tasks and reminders, calendar appointments and orders; and the
sales funnel: leads (with scoring rules, a public web form and imports), pipelines with their stages, and
opportunities with their stage history. One module per noun, all re-exported here: `from sales.models import Lead`.

Models keep data and the invariants the database can hold (check constraints, tenant-scoped unique constraints,
indexes that lead with the tenant). Workflows live in sales/services/.
"""

from sales.models.appointment import Appointment, AppointmentAttendee, AppointmentContact
from sales.models.contract import (
    Contract,
    ContractAttachment,
    ContractStatus,
    Instalment,
    OverdueNotice,
    Receipt,
    ReceiptAllocation,
    ReceiptMethod,
)
from sales.models.followup import FOLLOW_UP_EDIT_WINDOW, FollowUp, FollowUpKind, FollowUpOutcome
from sales.models.lead import DuplicateKind, Lead, LeadOrigin, LeadStatus, LeadTag
from sales.models.lead_pool import (
    LeadExtensionRequest,
    LeadFallbackWarning,
    LeadOwnershipEvent,
    LeadPool,
    LeadPoolRule,
    LeadPoolTeam,
)
from sales.models.lead_scoring import (
    MAX_RULE_POINTS,
    VALUELESS_CONDITIONS,
    LeadScoringRule,
    ScoringCondition,
    ScoringField,
)
from sales.models.opportunity import Opportunity, OpportunityLine, StageChange
from sales.models.order import (
    FOREIGN_ORDER_CURRENCIES,
    KNOWN_CURRENCIES,
    Order,
    OrderLine,
    OrderStatus,
    order_currencies,
)
from sales.models.pipeline import Pipeline, Stage, StageKind
from sales.models.product import Product, ProductPrice
from sales.models.quote import DocumentSequence, Quote, QuoteLine, QuoteSettings, QuoteStatus, QuoteTotals
from sales.models.task import Task
from sales.models.web_form import (
    DEFAULT_WEB_FORM_FIELDS,
    LeadWebForm,
    WebFormField,
    default_web_form_fields,
    default_web_form_required,
)

__all__ = [
    "LeadExtensionRequest",
    "LeadFallbackWarning",
    "LeadOwnershipEvent",
    "LeadPool",
    "LeadPoolRule",
    "LeadPoolTeam",
    "Contract",
    "ContractAttachment",
    "ContractStatus",
    "Instalment",
    "OverdueNotice",
    "Receipt",
    "ReceiptAllocation",
    "ReceiptMethod",
    "DEFAULT_WEB_FORM_FIELDS",
    "FOLLOW_UP_EDIT_WINDOW",
    "FOREIGN_ORDER_CURRENCIES",
    "KNOWN_CURRENCIES",
    "MAX_RULE_POINTS",
    "VALUELESS_CONDITIONS",
    "Appointment",
    "AppointmentAttendee",
    "AppointmentContact",
    "DocumentSequence",
    "DuplicateKind",
    "FollowUp",
    "FollowUpKind",
    "FollowUpOutcome",
    "Lead",
    "LeadOrigin",
    "LeadScoringRule",
    "LeadStatus",
    "LeadTag",
    "LeadWebForm",
    "Opportunity",
    "OpportunityLine",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Pipeline",
    "Product",
    "ProductPrice",
    "Quote",
    "QuoteLine",
    "QuoteSettings",
    "QuoteStatus",
    "QuoteTotals",
    "ScoringCondition",
    "ScoringField",
    "Stage",
    "StageChange",
    "StageKind",
    "Task",
    "WebFormField",
    "default_web_form_fields",
    "default_web_form_required",
    "order_currencies",
]
