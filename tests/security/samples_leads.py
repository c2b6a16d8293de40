"""Sample URL arguments for the leads, web form, opportunity and pipeline pages of the sales app (see
samples_crm.py for the contract; the lead import's pages are in samples_imports.py).

The first sample asked for plants tenant A's funnel (idempotently, marked "MARKA"): a lead with a follow-up, a
duplicate, a qualified lead, a scoring rule, a published web form, the default pipeline, an opportunity with its
history. Destructive endpoints (deleting a pipeline, a stage, a rule) get rows of
their own, so the viewer check does not spoil other samples. The public form shows only what the admin wrote for
visitors (no company name, no address in the page), so no "MARKA" reaches an anonymous visitor.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from customers.models import Customer
from sales.models import Lead, LeadScoringRule, LeadWebForm, Opportunity, Pipeline, Stage
from sales.services.followup import followup_log
from sales.services.lead import lead_create, lead_set_status
from sales.services.lead_scoring import scoring_rule_save
from sales.services.opportunity import opportunity_create
from sales.services.pipeline import ensure_default_pipeline, pipeline_create, stage_save
from sales.services.web_form import web_form_save

from .marks import named

CUSTOMER = "MARKA 云帆科技有限公司"


def plant(world) -> dict:
    tenant = world.tenant
    if not Lead.objects.filter(tenant=tenant, name=named(world, "MARKA 线索")).exists():
        customer = Customer.objects.get(tenant=tenant, name=named(world, CUSTOMER), deleted_at__isnull=True)
        pipeline = ensure_default_pipeline(tenant)
        web_form_save(
            acting_user=world.admin,
            is_enabled=True,
            title="Contact us",
            intro="Tell us what you need.",
            thank_you="Thanks, we will call you.",
            fields=["name", "company", "phone", "email", "message"],
            required_fields=["name"],
            owner=world.rep1,
            source="web",
        )
        scoring_rule_save(
            acting_user=world.admin, field="source", condition="equals", value=named(world, "MARKA"), points=5
        )
        scoring_rule_save(acting_user=world.admin, field="phone", condition="is_set", value="", points=3)
        lead = lead_create(
            acting_user=world.rep1,
            data={
                "name": named(world, "MARKA 线索"),
                "company": named(world, "MARKA 线索公司"),
                "phone": "13600136000",
                "source": named(world, "MARKA"),
            },
        )
        followup_log(acting_user=world.rep1, lead=lead, kind="call", content=named(world, "MARKA lead call"))
        # The same person asking again: kept, flagged, linked.
        lead_create(acting_user=world.rep1, data={"name": named(world, "MARKA 重复"), "phone": "13600136000"})
        qualified = lead_create(
            acting_user=world.rep1,
            data={"name": named(world, "MARKA 合格"), "email": named(world, "MARKA").lower() + "@qualified.test"},
        )
        lead_set_status(acting_user=world.rep1, lead=qualified, status="qualified")
        opportunity = opportunity_create(
            acting_user=world.rep1,
            customer=customer,
            name=named(world, "MARKA opportunity"),
            pipeline=pipeline,
            amount=Decimal("1000"),
            currency=tenant.currency,
            expected_close_date=timezone.localdate() + timedelta(days=10),
        )
        followup_log(
            acting_user=world.rep1, opportunity=opportunity, kind="call", content=named(world, "MARKA opportunity call")
        )
        pipeline_create(acting_user=world.admin, name=named(world, "MARKA spare pipeline"))
        stage_save(acting_user=world.admin, pipeline=pipeline, name=named(world, "MARKA spare stage"), probability=20)
        scoring_rule_save(acting_user=world.admin, field="email", condition="is_set", value="", points=1)
    pipeline = (
        Pipeline.objects.filter(tenant=tenant).exclude(name=named(world, "MARKA spare pipeline")).order_by("pk").first()
    )
    return {
        "lead": Lead.objects.get(tenant=tenant, name=named(world, "MARKA 线索")),
        "qualified": Lead.objects.get(tenant=tenant, name=named(world, "MARKA 合格")),
        "opportunity": Opportunity.objects.get(tenant=tenant, name=named(world, "MARKA opportunity")),
        "pipeline": pipeline,
        "spare_pipeline": Pipeline.objects.filter(tenant=tenant, name=named(world, "MARKA spare pipeline")).first()
        or Pipeline.objects.create(tenant=tenant, name=named(world, "MARKA spare pipeline"), position=9),
        "stage": Stage.objects.filter(pipeline=pipeline, kind="open").order_by("position", "pk").first(),
        "spare_stage": Stage.objects.filter(tenant=tenant, name=named(world, "MARKA spare stage")).first()
        or Stage.objects.create(
            tenant=tenant, pipeline=pipeline, name=named(world, "MARKA spare stage"), probability=20, position=20
        ),
        "rule": LeadScoringRule.objects.filter(tenant=tenant, field="source").first(),
        "spare_rule": LeadScoringRule.objects.filter(tenant=tenant, field="email").first()
        or LeadScoringRule.objects.create(tenant=tenant, field="email", condition="is_set", points=1),
        "web_form": LeadWebForm.objects.get(tenant=tenant),
    }


def _pk(key):
    return lambda w: {"pk": plant(w)[key].pk}


SAMPLES = {
    "sales:lead_detail": _pk("lead"),
    "sales:lead_edit": _pk("lead"),
    "sales:lead_status": _pk("lead"),
    "sales:lead_assign": _pk("lead"),
    "sales:lead_convert": _pk("qualified"),
    "sales:lead_followup": _pk("lead"),
    "sales:lead_reveal": _pk("lead"),
    "sales:public_lead_form": lambda w: {"tenant": plant(w)["web_form"].tenant.slug},
    "sales:public_lead_thanks": lambda w: {"tenant": plant(w)["web_form"].tenant.slug},
    "sales:opportunity_detail": _pk("opportunity"),
    "sales:opportunity_edit": _pk("opportunity"),
    "sales:opportunity_move": _pk("opportunity"),
    "sales:opportunity_followup": _pk("opportunity"),
    "sales:pipeline_edit": _pk("pipeline"),
    "sales:pipeline_delete": _pk("spare_pipeline"),
    "sales:stage_edit": _pk("stage"),
    "sales:stage_move": _pk("stage"),
    "sales:stage_delete": _pk("spare_stage"),
    "sales:scoring_rule_edit": _pk("rule"),
    "sales:scoring_rule_delete": _pk("spare_rule"),
}

VIEWERS: dict = {}

PUBLIC = {
    "sales:public_lead_form": "the tenant's public lead form: visitors have no account (CSRF, honeypot, rate limit)",
    "sales:public_lead_thanks": "the public form's thank-you page",
}
