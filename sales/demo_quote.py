"""Demo data of the product catalogue, quotes, contracts and payment collection: the catalogue; on the reps' open
opportunities a quote sent as it was, one approved by the manager after a big discount, one waiting for the
manager's approval and one rejected then revised (v2); the full cycle on a fifth one: quote accepted → contract
approved and signed → three instalments, the first paid, the second late (the overdue job tells the rep, and the
manager after a week). Written through the services, so numbers, totals, approvals and audit are real.
Idempotent: nothing is added once the tenant has products."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_decide
from crm.workcalendar.selectors import local_today
from customers.models import Customer, CustomerLevel
from sales.models import ContractStatus, Opportunity, Product
from sales.money import round_money
from sales.selectors.product import level_prices
from sales.services.contract import CONTRACT_KIND, contract_create_from_quote, contract_set_status, contract_submit
from sales.services.order import ORDER_DISCOUNT_KIND, Line, order_create
from sales.services.payment import payment_plan_save, receipt_record
from sales.services.product import FIELDS, product_save
from sales.services.quote import (
    QUOTE_KIND,
    QuoteLineInput,
    quote_close,
    quote_create,
    quote_revise,
    quote_send,
    quote_submit,
)

CATALOGUE = [
    ("CRM-STD", "CRM 标准版（年）", "软件", "套", Decimal("6800"), Decimal("13")),
    ("CRM-PRO", "CRM 专业版（年）", "软件", "套", Decimal("12800"), Decimal("13")),
    ("SVC-IMPL", "实施服务（人天）", "服务", "人天", Decimal("2000"), Decimal("6")),
    ("SVC-TRAIN", "培训服务", "服务", "次", Decimal("3000"), Decimal("6")),
    ("SMS-10K", "短信包（1万条）", "增值", "包", Decimal("450"), Decimal("6")),
]

# Level prices as a share of the list price: (level code, rate).
LEVEL_RATES = {
    "CRM-STD": [("A", Decimal("0.85")), ("B", Decimal("0.95"))],
    "CRM-PRO": [("A", Decimal("0.80")), ("B", Decimal("0.92"))],
}


def seed_quotes(demo) -> None:
    tenant = demo.tenant
    admin, manager = demo.users.get("admin"), demo.users.get("manager")
    if admin is None or manager is None or Product.objects.filter(tenant=tenant).exists():
        return
    products = {}
    for code, name, category, unit, price, tax in CATALOGUE:
        products[code] = product_save(
            acting_user=admin,
            data={
                "code": code,
                "name": name,
                "category": category,
                "unit": unit,
                "list_price": price,
                "currency": tenant.currency,
                "tax_rate": tax,
                "is_active": True,
            },
        )
    # The price book: key accounts (level A) pay less for the software, level B a little less.
    levels = {level.code: level for level in CustomerLevel.objects.filter(tenant=tenant, code__in=("A", "B"))}
    for code, rates in LEVEL_RATES.items():
        prices = {
            levels[lv]: round_money(products[code].list_price * rate, tenant.currency)
            for lv, rate in rates
            if lv in levels
        }
        if prices:
            product_save(
                acting_user=admin,
                data={key: getattr(products[code], key) for key in FIELDS},
                product=products[code],
                level_prices=prices,
            )
    reps = [demo.users[key] for key in ("rep1", "rep2") if key in demo.users]
    opportunities = [
        opp
        for rep in reps
        for opp in Opportunity.objects.filter(tenant=tenant, owner=rep, status="open", currency=tenant.currency)
        .select_related("owner")
        .order_by("pk")[:2]
    ]
    if len(opportunities) < 4:
        # A rep with fewer open deals today: the others' fill in, so the demo never depends on the dice.
        opportunities += (
            Opportunity.objects.filter(tenant=tenant, owner__in=reps, status="open", currency=tenant.currency)
            .exclude(pk__in=[o.pk for o in opportunities])
            .select_related("owner")
            .order_by("pk")[: 4 - len(opportunities)]
        )
    if len(opportunities) < 4:
        return
    cycle = (
        Opportunity.objects.filter(tenant=tenant, owner__in=reps, status="open", currency=tenant.currency)
        .exclude(pk__in=[o.pk for o in opportunities])
        .select_related("owner")
        .order_by("pk")
        .first()
    )

    def quote(opportunity, discount):
        return quote_create(
            acting_user=opportunity.owner,
            opportunity=opportunity,
            lines=[
                QuoteLineInput(product=products["CRM-PRO"], quantity=Decimal("10"), discount_pct=Decimal(discount)),
                QuoteLineInput(product=products["SVC-IMPL"], quantity=Decimal("5")),
            ],
            terms="合同签订后 7 个工作日内支付 50%，验收后支付余款。",
        )

    def decide(q, approve, comment):
        request = ApprovalRequest.objects.get(tenant=tenant, kind=QUOTE_KIND, object_id=q.pk, status="pending")
        approval_decide(acting_user=manager, request_id=request.pk, step=1, approve=approve, comment=comment)

    plain, approved, waiting, rejected = opportunities[:4]
    quote_send(acting_user=plain.owner, quote=quote(plain, "5"))
    big = quote(approved, "15")
    quote_submit(acting_user=approved.owner, quote=big)
    decide(big, True, "同意，年底冲量")
    quote_send(acting_user=approved.owner, quote=big)
    quote_submit(acting_user=waiting.owner, quote=quote(waiting, "12"))
    refused = quote(rejected, "18")
    quote_submit(acting_user=rejected.owner, quote=refused)
    decide(refused, False, "折扣过大，请控制在 10% 以内")
    refused.refresh_from_db()
    quote_revise(acting_user=rejected.owner, quote=refused)
    if cycle is not None:
        seed_collection(demo, quote(cycle, "5"))
    seed_order_discounts(demo, products, opportunities)
    ended = (
        Opportunity.objects.filter(tenant=tenant, owner__in=reps, status="open", currency=tenant.currency)
        .exclude(pk__in=[o.pk for o in opportunities] + ([cycle.pk] if cycle else []))
        .exclude(customer__is_key_account=True)
        .select_related("owner")
        .order_by("pk")
        .first()
    )
    if ended is not None:
        seed_ended_contract(demo, quote(ended, "5"))


def seed_ended_contract(demo, quote) -> None:
    """A one-year contract that ended 43 days ago with no new one signed: with the pool's 45 days after the last
    contract, its customer falls back in two days although its rep follows it up."""
    tenant, rep, manager = demo.tenant, quote.owner, demo.users["manager"]
    today = local_today(tenant)
    quote = quote_send(acting_user=rep, quote=quote)
    quote = quote_close(acting_user=rep, quote=quote, accepted=True)
    contract = contract_create_from_quote(
        acting_user=rep, quote=quote, starts_on=today - dt.timedelta(days=408), ends_on=today - dt.timedelta(days=43)
    )
    contract_submit(acting_user=rep, contract=contract)
    request = ApprovalRequest.objects.get(tenant=tenant, kind=CONTRACT_KIND, object_id=contract.pk, status="pending")
    approval_decide(acting_user=manager, request_id=request.pk, step=1, approve=True, comment="同意签约")
    contract.refresh_from_db()
    for status, signed_on in (
        (ContractStatus.SIGNED, today - dt.timedelta(days=410)),
        (ContractStatus.ACTIVE, None),
        (ContractStatus.COMPLETED, None),
    ):
        contract = contract_set_status(acting_user=rep, contract=contract, status=status, signed_on=signed_on)
    # Held for over a year and followed up last week: only the contract rule decides.
    now = timezone.now()
    Customer.objects.filter(pk=contract.customer_id).update(
        owned_since=now - dt.timedelta(days=420), last_followed_up_at=now - dt.timedelta(days=6)
    )


def seed_order_discounts(demo, products, opportunities) -> None:
    """Orders below the list price: one within the threshold (counted at once), one approved by the manager, one
    still waiting and one refused — the last two not counted in the customer's figures."""
    tenant, manager = demo.tenant, demo.users["manager"]
    today = local_today(tenant)

    def order(opportunity, reference, rate, note):
        product = products["CRM-STD"]
        price = level_prices(opportunity.customer, [product.pk]).get(product.pk, product.list_price)
        return order_create(
            acting_user=opportunity.owner,
            customer=opportunity.customer,
            ordered_on=today,
            currency=tenant.currency,
            reference=reference,
            lines=[
                Line(
                    name=product.name,
                    quantity=Decimal("20"),
                    unit_price=round_money(price * rate, tenant.currency),
                    product=product,
                )
            ],
            notes=note,
        )

    def decide(o, approve, comment):
        request = ApprovalRequest.objects.get(tenant=tenant, kind=ORDER_DISCOUNT_KIND, object_id=o.pk)
        approval_decide(acting_user=manager, request_id=request.pk, step=1, approve=approve, comment=comment)

    first, second, third, fourth = opportunities[:4]
    order(first, "ZK-2026-001", Decimal("0.95"), "老客户续费，九五折")
    decide(order(second, "ZK-2026-002", Decimal("0.85"), "季度末冲量，八五折"), True, "同意，下不为例")
    order(third, "ZK-2026-003", Decimal("0.88"), "客户要求八八折，等待经理审批")
    decide(order(fourth, "ZK-2026-004", Decimal("0.80"), "竞品压价，申请八折"), False, "折扣过大，请先谈到九折以内")


def seed_collection(demo, quote) -> None:
    """Quote accepted → contract approved and signed → instalments: paid, late, to come."""
    tenant, rep, manager = demo.tenant, quote.owner, demo.users["manager"]
    today = local_today(tenant)
    quote = quote_send(acting_user=rep, quote=quote)
    quote = quote_close(acting_user=rep, quote=quote, accepted=True)
    contract = contract_create_from_quote(
        acting_user=rep, quote=quote, starts_on=today - dt.timedelta(days=60), ends_on=today + dt.timedelta(days=25)
    )
    contract_submit(acting_user=rep, contract=contract)
    request = ApprovalRequest.objects.get(tenant=tenant, kind=CONTRACT_KIND, object_id=contract.pk, status="pending")
    approval_decide(acting_user=manager, request_id=request.pk, step=1, approve=True, comment="同意签约")
    contract.refresh_from_db()
    contract = contract_set_status(
        acting_user=rep, contract=contract, status=ContractStatus.SIGNED, signed_on=today - dt.timedelta(days=60)
    )
    contract = contract_set_status(acting_user=rep, contract=contract, status=ContractStatus.ACTIVE)
    first = round_money(contract.amount * Decimal("0.3"), contract.currency)
    second = round_money(contract.amount * Decimal("0.4"), contract.currency)
    payment_plan_save(
        acting_user=rep,
        contract=contract,
        instalments=[
            (today - dt.timedelta(days=50), first),
            (today - dt.timedelta(days=12), second),
            (today + dt.timedelta(days=20), contract.amount - first - second),
        ],
    )
    receipt_record(
        acting_user=rep,
        contract=contract,
        received_on=today - dt.timedelta(days=48),
        amount=first,
        method="bank",
        reference="ICBC20260001",
    )
