"""Quotes: totals computed once (Decimal, half-up per line to the currency's minor unit), numbers per tenant and
year without repeats, versions, approval above the tenant's thresholds through crm.approvals (manager, then an
administrator above the second threshold), send / accept / decline / revise, the PDF with 大写金额, the pages."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_decide
from crm.errors import DomainError
from crm.models import AuditEvent, Notification
from crm.workcalendar.selectors import local_today
from sales import pdf
from sales.models import Quote, QuoteLine, QuoteStatus
from sales.services.quote import (
    QuoteLineInput,
    quote_close,
    quote_create,
    quote_revise,
    quote_send,
    quote_settings,
    quote_settings_save,
    quote_submit,
    quote_update,
)

from .quotes import make_opportunity, make_product, make_quote


def line(quantity, price, discount="0", tax="0"):
    return SimpleNamespace(
        quantity=Decimal(quantity), unit_price=Decimal(price), discount_pct=Decimal(discount), tax_rate=Decimal(tax)
    )


def test_totals_round_each_line_half_up_and_add_up():
    totals = Quote.compute_totals(
        [line("3", "33.335", "10", "13"), line("1", "0.005", "0", "6"), line("2", "100", "0", "13")], "CNY"
    )
    # 3 × 33.335 = 100.005 → 100.01; 10 % → 10.00; net 90.01; tax 13 % of 90.01 = 11.7013 → 11.70
    assert totals.lines[0].gross == Decimal("100.01")
    assert (totals.lines[0].discount, totals.lines[0].net, totals.lines[0].tax) == (
        Decimal("10.00"),
        Decimal("90.01"),
        Decimal("11.70"),
    )
    # 0.005 → 0.01; tax 6 % of 0.01 = 0.0006 → 0.00
    assert (totals.lines[1].net, totals.lines[1].tax) == (Decimal("0.01"), Decimal("0.00"))
    assert totals.gross == Decimal("300.02")
    assert totals.discount == Decimal("10.00")
    assert totals.net == Decimal("290.02")
    assert totals.tax == Decimal("37.70")
    assert totals.total == Decimal("327.72")
    assert totals.discount_pct == Decimal("3.33")
    assert totals.max_line_discount_pct == Decimal("10")


def test_totals_in_yen_have_no_fractions():
    totals = Quote.compute_totals([line("3", "333.5", "5", "10")], "JPY")
    # 1000.5 → 1001; 5 % = 50.05 → 50; net 951; tax 95.1 → 95
    assert (totals.gross, totals.discount, totals.net, totals.tax, totals.total) == (
        Decimal("1001"),
        Decimal("50"),
        Decimal("951"),
        Decimal("95"),
        Decimal("1046"),
    )


def test_no_lines_no_money():
    totals = Quote.compute_totals([], "CNY")
    assert totals.total == Decimal("0.00") and totals.discount_pct == Decimal("0.00")


@pytest.mark.django_db
def test_a_quote_is_numbered_per_year_and_its_lines_take_the_catalogue_defaults(world):
    product = make_product(world, code="CRM-PRO", price="12000.00", tax="13")
    opportunity = make_opportunity(world)
    quote = quote_create(
        acting_user=world.rep1,
        opportunity=opportunity,
        lines=[
            QuoteLineInput(product=product, quantity=Decimal("1")),
            QuoteLineInput(name="实施服务", quantity=Decimal("2"), unit_price=Decimal("150"), tax_rate=Decimal("6")),
        ],
    )
    year = local_today(world.tenant).year
    assert quote.number == f"Q-{year}-0001" and quote.label == f"Q-{year}-0001"
    assert quote.status == QuoteStatus.DRAFT and quote.owner == world.rep1
    lines = list(QuoteLine.objects.filter(quote=quote).order_by("position"))
    assert (lines[0].name, lines[0].unit, lines[0].unit_price, lines[0].tax_rate) == (
        product.name,
        "套",
        Decimal("12000.00"),
        Decimal("13.00"),
    )
    # 12000 + 13 % = 13560; 300 + 6 % = 318
    assert quote.total == Decimal("13878.00")
    assert quote.valid_until == local_today(world.tenant) + dt.timedelta(days=30)
    second = make_quote(world, opportunity=opportunity)
    assert second.number == f"Q-{year}-0002"
    assert AuditEvent.objects.filter(action="quote.create", object_id=str(quote.pk)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "at least one line"),
        ([QuoteLineInput(quantity=Decimal("1"), unit_price=Decimal("1"))], "choose a product or describe"),
        ([QuoteLineInput(name="x", quantity=Decimal("0"), unit_price=Decimal("1"))], "greater than zero"),
        ([QuoteLineInput(name="x", quantity=Decimal("1"), unit_price=Decimal("-1"))], "zero or more"),
        (
            [QuoteLineInput(name="x", quantity=Decimal("1"), unit_price=Decimal("1"), discount_pct=Decimal("101"))],
            "between 0 and 100",
        ),
    ],
)
def test_bad_lines_are_refused_and_nothing_is_saved(world, lines, message):
    opportunity = make_opportunity(world)
    with pytest.raises(DomainError, match=message):
        quote_create(acting_user=world.rep1, opportunity=opportunity, lines=lines)
    assert not Quote.objects.exists()


@pytest.mark.django_db
def test_only_those_working_on_the_opportunity_write_its_quotes(world):
    opportunity = make_opportunity(world)
    with pytest.raises(PermissionDenied):
        make_quote(world, user=world.rep2, opportunity=opportunity)
    assert make_quote(world, user=world.manager, opportunity=opportunity).owner == world.rep1


@pytest.mark.django_db
def test_a_small_discount_is_sent_without_approval_and_accepted(world):
    quote = make_quote(world, discount="5")
    with pytest.raises(DomainError, match="needs no approval"):
        quote_submit(acting_user=world.rep1, quote=quote)
    quote = quote_send(acting_user=world.rep1, quote=quote)
    assert quote.status == QuoteStatus.SENT and quote.sent_at is not None
    quote = quote_close(acting_user=world.rep1, quote=quote, accepted=True)
    assert quote.status == QuoteStatus.ACCEPTED
    with pytest.raises(DomainError, match="Only a sent quote"):
        quote_close(acting_user=world.rep1, quote=quote, accepted=False)


@pytest.mark.django_db
def test_a_big_discount_waits_for_the_managers_approval(world):
    quote = make_quote(world, discount="15")
    with pytest.raises(DomainError, match="needs approval before it is sent"):
        quote_send(acting_user=world.rep1, quote=quote)
    quote_submit(acting_user=world.rep1, quote=quote)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING
    request = ApprovalRequest.objects.get(object_id=quote.pk, kind="sales.quote")
    assert [s.approver for s in request.steps.all()] == ["manager"]
    assert Notification.objects.filter(recipient=world.manager, key=f"approval:{request.pk}:step:1").exists()
    with pytest.raises(DomainError, match="Only a draft or approved"):
        quote_send(acting_user=world.rep1, quote=quote)
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True, comment="同意")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    assert quote_send(acting_user=world.rep1, quote=quote).status == QuoteStatus.SENT


@pytest.mark.django_db
def test_above_the_second_threshold_an_administrator_approves_too(world):
    quote = make_quote(world, discount="25")
    quote_submit(acting_user=world.rep1, quote=quote)
    request = ApprovalRequest.objects.get(object_id=quote.pk, kind="sales.quote")
    assert [s.approver for s in request.steps.order_by("order")] == ["manager", "admin"]
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING
    approval_decide(acting_user=world.admin, request_id=request.pk, step=2, approve=True)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED


@pytest.mark.django_db
def test_a_total_above_the_limit_needs_approval(world):
    quote_settings_save(acting_user=world.admin, data={"amount_limit": Decimal("5000")})
    quote = make_quote(world, discount="0")
    quote_submit(acting_user=world.rep1, quote=quote)
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.PENDING


@pytest.mark.django_db
def test_a_rejected_quote_is_revised_as_a_new_version(world):
    quote = make_quote(world, discount="15")
    quote_submit(acting_user=world.rep1, quote=quote)
    request = ApprovalRequest.objects.get(object_id=quote.pk, kind="sales.quote")
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=False, comment="折扣太大")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.REJECTED
    v2 = quote_revise(acting_user=world.rep1, quote=quote)
    assert (v2.number, v2.version, v2.label) == (quote.number, 2, f"{quote.number} v2")
    assert v2.status == QuoteStatus.DRAFT and v2.previous_id == quote.pk
    assert v2.total == quote.total and v2.lines.count() == 1
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.REVISED
    with pytest.raises(DomainError, match="cannot be revised"):
        quote_revise(acting_user=world.rep1, quote=quote)
    v2 = quote_update(
        acting_user=world.rep1,
        quote=v2,
        lines=[
            QuoteLineInput(
                name="CRM 专业版", quantity=Decimal("1"), unit_price=Decimal("10000"), discount_pct=Decimal("8")
            )
        ],
        currency="CNY",
        valid_until=v2.valid_until,
        terms="款到发货",
    )
    assert v2.discount_pct == Decimal("8.00")
    assert quote_send(acting_user=world.rep1, quote=v2).status == QuoteStatus.SENT


@pytest.mark.django_db
def test_a_withdrawn_request_puts_the_quote_back_to_draft(world):
    from crm.approvals.services import approval_withdraw

    quote = make_quote(world, discount="15")
    quote_submit(acting_user=world.rep1, quote=quote)
    request = ApprovalRequest.objects.get(object_id=quote.pk)
    approval_withdraw(acting_user=world.rep1, request_id=request.pk)
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.DRAFT


@pytest.mark.django_db
def test_an_expired_quote_is_neither_sent_nor_accepted(world):
    quote = make_quote(world)
    Quote.objects.filter(pk=quote.pk).update(valid_until=local_today(world.tenant) - dt.timedelta(days=1))
    quote.refresh_from_db()
    with pytest.raises(DomainError, match="validity date has passed"):
        quote_send(acting_user=world.rep1, quote=quote)


@pytest.mark.django_db
def test_settings_refuse_a_second_threshold_below_the_first(world):
    with pytest.raises(DomainError, match="cannot be below"):
        quote_settings_save(
            acting_user=world.admin, data={"discount_limit": Decimal("20"), "second_discount_limit": Decimal("10")}
        )
    with pytest.raises(PermissionDenied):
        quote_settings_save(acting_user=world.rep1, data={"discount_limit": Decimal("20")})
    assert quote_settings(world.tenant.pk).discount_limit == Decimal("10")


@pytest.mark.django_db
def test_the_pdf_has_the_amount_in_chinese_capitals(world, client_for, monkeypatch):
    quote = make_quote(world, price="10000", discount="0")  # 10000 + 13 % = 11300
    html = pdf.quote_html(quote)
    assert "壹万壹仟叁佰元整" in html and quote.number in html and world.tenant.name in html
    monkeypatch.setattr(pdf, "PDF_OPTIONS", {"uncompressed_pdf": True})
    response = client_for(world.rep1).get(reverse("sales:quote_pdf", args=[quote.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and b"Noto-Sans-CJK-SC" in response.content
    assert f'filename="{quote.number}-v1.pdf"' in response["Content-Disposition"]


@pytest.mark.django_db
def test_the_pages_new_quote_detail_and_actions(world, client_for):
    product = make_product(world, code="CRM-PRO", price="10000")
    opportunity = make_opportunity(world)
    c = client_for(world.rep1)
    assert c.get(reverse("sales:quote_create", args=[opportunity.pk])).status_code == 200
    data = {
        "currency": "CNY",
        "valid_until": "",
        "terms": "",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "100",
        "lines-0-product": product.pk,
        "lines-0-quantity": "2",
        "lines-0-discount_pct": "15",
    }
    response = c.post(reverse("sales:quote_create", args=[opportunity.pk]), data)
    quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("sales:quote_detail", args=[quote.pk])
    assert quote.total == Decimal("19210.00")  # 20000 − 15 % = 17000, + 13 % tax
    body = c.get(reverse("sales:quote_detail", args=[quote.pk])).content.decode()
    assert 'data-testid="submit-quote"' in body and 'data-testid="needs-approval"' in body
    c.post(reverse("sales:quote_submit", args=[quote.pk]))
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.PENDING
    assert quote.number in c.get(reverse("sales:quote_list")).content.decode()
    page = c.get(reverse("sales:opportunity_detail", args=[opportunity.pk])).content.decode()
    assert quote.number in page and reverse("sales:quote_create", args=[opportunity.pk]) in page


@pytest.mark.django_db
def test_a_bad_form_answers_422_with_the_reason(world, client_for):
    opportunity = make_opportunity(world)
    data = {
        "currency": "CNY",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "100",
        "lines-0-name": "服务",
        "lines-0-quantity": "1",
    }
    response = client_for(world.rep1).post(reverse("sales:quote_create", args=[opportunity.pk]), data)
    assert response.status_code == 422
    assert "Enter a unit price of zero or more." in response.content.decode()
    data.pop("lines-0-name"), data.pop("lines-0-quantity")
    response = client_for(world.rep1).post(reverse("sales:quote_create", args=[opportunity.pk]), data)
    assert response.status_code == 422 and "A quote needs at least one line." in response.content.decode()
    assert not Quote.objects.exists()


@pytest.mark.django_db
def test_another_tenants_and_another_reps_quotes_are_404(world, world_b, client_for):
    from sales.services.pipeline import ensure_default_pipeline

    ensure_default_pipeline(world_b.tenant)
    theirs = make_quote(world_b)
    mine = make_quote(world)
    c = client_for(world.admin)
    for name in ("sales:quote_detail", "sales:quote_pdf", "sales:quote_edit"):
        assert c.get(reverse(name, args=[theirs.pk])).status_code == 404
    for name in ("sales:quote_submit", "sales:quote_send", "sales:quote_revise", "sales:quote_close"):
        assert c.post(reverse(name, args=[theirs.pk]), {"outcome": "accepted"}).status_code == 404
    assert c.get(reverse("sales:quote_create", args=[theirs.opportunity_id])).status_code == 404
    assert client_for(world.rep2).get(reverse("sales:quote_detail", args=[mine.pk])).status_code == 404
    assert Quote.objects.get(pk=theirs.pk).status == QuoteStatus.DRAFT


@pytest.mark.django_db
def test_the_list_runs_a_bounded_number_of_queries(world, client_for, django_assert_max_num_queries):
    opportunity = make_opportunity(world)
    for _ in range(6):
        make_quote(world, opportunity=opportunity)
    c = client_for(world.manager)
    with django_assert_max_num_queries(12):
        response = c.get(reverse("sales:quote_list"))
    body = response.content.decode()
    assert all(reverse("sales:quote_detail", args=[q.pk]) in body for q in Quote.objects.all())
    quote = Quote.objects.first()
    with django_assert_max_num_queries(20):
        assert c.get(reverse("sales:quote_detail", args=[quote.pk])).status_code == 200


@pytest.mark.django_db
def test_sent_quotes_past_their_validity_expire_once(world):
    from sales.services.quote import quotes_expire

    quote = quote_send(acting_user=world.rep1, quote=make_quote(world))
    fresh = quote_send(acting_user=world.rep1, quote=make_quote(world))
    Quote.objects.filter(pk=quote.pk).update(valid_until=local_today(world.tenant) - dt.timedelta(days=1))
    assert quotes_expire(tenant_id=world.tenant.pk) == 1
    assert quotes_expire(tenant_id=world.tenant.pk) == 0
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.EXPIRED
    assert Quote.objects.get(pk=fresh.pk).status == QuoteStatus.SENT
    assert AuditEvent.objects.filter(action="quote.expired", object_id=str(quote.pk)).count() == 1
    v2 = quote_revise(acting_user=world.rep1, quote=Quote.objects.get(pk=quote.pk))
    assert v2.valid_until > local_today(world.tenant)
