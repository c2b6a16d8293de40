"""Sample URL arguments for the product catalogue and the quotes of the sales app (see samples_crm.py for the
contract): a product, and quotes on tenant A's opportunity (marked MARKA in their lines and terms), one per
endpoint that changes a quote's status, so the viewer check of one does not spoil another."""

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from sales.models import Contract, ContractAttachment, ContractStatus, Product, Quote
from sales.services.contract import contract_attach, contract_create_from_quote
from sales.services.payment import payment_plan_save
from sales.services.product import product_save
from sales.services.quote import QuoteLineInput, quote_close, quote_create, quote_send

from .marks import named
from .samples_leads import plant as plant_leads

QUOTES = ("edit", "revise", "send", "submit", "close", "accepted")
# Contracts, each drafted from its own accepted quote: one asked for approval, one signed with its plan (the "accepted"
# quote above has no contract yet, for the page that drafts one).
CONTRACTS = ("submit", "signed")


def plant(world) -> dict:
    """Tenant A's product and quotes (once per world), returned by name."""
    tenant = world.tenant
    opportunity = plant_leads(world)["opportunity"]
    if not Product.objects.filter(tenant=tenant, code=named(world, "MARKA-P1")).exists():
        product = product_save(
            acting_user=world.admin,
            data={
                "code": named(world, "MARKA-P1"),
                "name": named(world, "MARKA product"),
                "list_price": Decimal("100"),
                "currency": tenant.currency,
                "tax_rate": Decimal("13"),
            },
        )
        for key in QUOTES:
            quote = quote_create(
                acting_user=world.rep1,
                opportunity=opportunity,
                lines=[QuoteLineInput(product=product, quantity=Decimal("1"), name=named(world, "MARKA line"))],
                terms=named(world, f"MARKA {key}"),
            )
            if key in ("close", "accepted"):
                quote_send(acting_user=world.rep1, quote=quote)
            if key == "accepted":
                quote_close(acting_user=world.rep1, quote=quote, accepted=True)
        for key in CONTRACTS:
            quote = quote_create(
                acting_user=world.rep1,
                opportunity=opportunity,
                lines=[QuoteLineInput(product=product, quantity=Decimal("2"))],
                terms=named(world, f"MARKA contract {key}"),
            )
            quote_send(acting_user=world.rep1, quote=quote)
            quote = quote_close(acting_user=world.rep1, quote=quote, accepted=True)
            contract = contract_create_from_quote(acting_user=world.rep1, quote=quote)
            Contract.objects.filter(pk=contract.pk).update(title=named(world, f"MARKA contract {key}"))
            if key == "signed":
                # Signed without the approval round trip: the sample needs the state, not the workflow.
                Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.SIGNED)
                payment_plan_save(
                    acting_user=world.rep1, contract=contract, instalments=[(timezone.localdate(), contract.amount)]
                )
                contract_attach(
                    acting_user=world.rep1,
                    contract=contract,
                    upload=SimpleUploadedFile(
                        named(world, "MARKA-scan.pdf"), named(world, "%PDF-1.7 MARKA").encode(), "application/pdf"
                    ),
                )
    quotes = {q.terms: q for q in Quote.objects.filter(tenant=tenant, opportunity=opportunity)}
    return {
        "product": Product.objects.get(tenant=tenant, code=named(world, "MARKA-P1")),
        "opportunity": opportunity,
        **{key: quotes[named(world, f"MARKA {key}")] for key in QUOTES},
        **{
            f"contract_{key}": Contract.objects.get(tenant=tenant, title=named(world, f"MARKA contract {key}"))
            for key in CONTRACTS
        },
    }


def _pk(key):
    return lambda w: {"pk": plant(w)[key].pk}


SAMPLES = {
    "sales:product_edit": _pk("product"),
    "sales:quote_create": lambda w: {"opportunity_pk": plant(w)["opportunity"].pk},
    "sales:quote_detail": _pk("edit"),
    "sales:quote_edit": _pk("edit"),
    "sales:quote_pdf": _pk("edit"),
    "sales:quote_revise": _pk("revise"),
    "sales:quote_send": _pk("send"),
    "sales:quote_submit": _pk("submit"),
    "sales:quote_close": _pk("close"),
    "sales:contract_from_quote": _pk("accepted"),
    "sales:contract_detail": _pk("contract_signed"),
    "sales:contract_pdf": _pk("contract_signed"),
    "sales:contract_edit": _pk("contract_submit"),
    "sales:contract_submit": _pk("contract_submit"),
    "sales:contract_status": _pk("contract_signed"),
    "sales:contract_plan": _pk("contract_signed"),
    "sales:contract_receipt": _pk("contract_signed"),
    "sales:contract_attach": _pk("contract_signed"),
    "sales:contract_attachment": lambda w: {
        "pk": ContractAttachment.objects.get(tenant=w.tenant, contract=plant(w)["contract_signed"]).pk
    },
}

VIEWERS = {}
