"""Contracts from accepted quotes, approved before signing (crm.approvals), numbered with the tenant's prefix
without gaps; payment plans that add up to the amount; receipts that settle the earliest instalments first and
never more than is owed; the overdue and renewal reminders, once each; the pages and the customer panel."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from crm.approvals.models import ApprovalRequest
from crm.approvals.services import approval_decide
from crm.errors import DomainError
from crm.models import AuditEvent, Notification
from crm.workcalendar.selectors import local_today
from sales import tasks
from sales.models import Contract, ContractStatus, Instalment, OverdueNotice, Receipt
from sales.services.contract import contract_create_from_quote, contract_set_status, contract_submit
from sales.services.payment import contract_reminders_send, payment_plan_save, receipt_record
from sales.services.quote import quote_close, quote_send, quote_settings_save

from .helpers import make_customer
from .quotes import make_quote


def accepted_quote(world, **kwargs):
    quote = make_quote(world, **kwargs)
    quote_send(acting_user=world.rep1, quote=quote)
    return quote_close(acting_user=world.rep1, quote=quote, accepted=True)


def signed_contract(world, *, ends_on=None):
    quote = accepted_quote(world)  # 10000 + 13 % = 11300.00
    contract = contract_create_from_quote(acting_user=world.rep1, quote=quote, ends_on=ends_on)
    contract_submit(acting_user=world.rep1, contract=contract)
    request = ApprovalRequest.objects.get(kind="sales.contract", object_id=contract.pk)
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True)
    contract.refresh_from_db()
    return contract_set_status(acting_user=world.rep1, contract=contract, status=ContractStatus.SIGNED)


@pytest.mark.django_db
def test_a_contract_is_drafted_from_an_accepted_quote_once(world):
    quote = make_quote(world)
    with pytest.raises(DomainError, match="accepted quote"):
        contract_create_from_quote(acting_user=world.rep1, quote=quote)
    quote = accepted_quote(world)
    contract = contract_create_from_quote(acting_user=world.rep1, quote=quote)
    year = local_today(world.tenant).year
    assert contract.number == f"HT-{year}-0001"
    assert (contract.amount, contract.customer_id, contract.owner_id) == (quote.total, quote.customer_id, world.rep1.pk)
    with pytest.raises(DomainError, match="already has its contract"):
        contract_create_from_quote(acting_user=world.rep1, quote=quote)
    quote_settings_save(acting_user=world.admin, data={"contract_prefix": "XS"})
    other = contract_create_from_quote(acting_user=world.rep1, quote=accepted_quote(world))
    assert other.number == f"XS-{year}-0002"


@pytest.mark.django_db
def test_approval_before_signing(world):
    contract = contract_create_from_quote(acting_user=world.rep1, quote=accepted_quote(world))
    with pytest.raises(DomainError, match="cannot be moved there"):
        contract_set_status(acting_user=world.rep1, contract=contract, status=ContractStatus.SIGNED)
    contract_submit(acting_user=world.rep1, contract=contract)
    request = ApprovalRequest.objects.get(kind="sales.contract", object_id=contract.pk)
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=False, comment="条款再议")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.REJECTED
    contract = contract_set_status(acting_user=world.rep1, contract=contract, status=ContractStatus.DRAFT)
    contract_submit(acting_user=world.rep1, contract=contract)
    request = ApprovalRequest.objects.get(kind="sales.contract", object_id=contract.pk, status="pending")
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True)
    contract.refresh_from_db()
    signed = contract_set_status(acting_user=world.rep1, contract=contract, status=ContractStatus.SIGNED)
    assert signed.status == ContractStatus.SIGNED and signed.signed_on == local_today(world.tenant)
    assert AuditEvent.objects.filter(action="contract.status", object_id=str(contract.pk)).exists()
    with pytest.raises(PermissionDenied):
        contract_set_status(acting_user=world.rep2, contract=signed, status=ContractStatus.ACTIVE)


@pytest.mark.django_db
def test_the_plan_must_add_up_to_the_amount(world):
    contract = signed_contract(world)
    today = local_today(world.tenant)
    with pytest.raises(DomainError, match="add up to 11,000.00; the contract's amount is 11,300.00"):
        payment_plan_save(
            acting_user=world.rep1,
            contract=contract,
            instalments=[(today, Decimal("5000")), (today + dt.timedelta(days=30), Decimal("6000"))],
        )
    assert not Instalment.objects.exists()
    rows = payment_plan_save(
        acting_user=world.rep1,
        contract=contract,
        instalments=[(today + dt.timedelta(days=30), Decimal("6300")), (today, Decimal("5000"))],
    )
    assert [(r.position, r.amount) for r in rows] == [(1, Decimal("5000")), (2, Decimal("6300"))]


@pytest.mark.django_db
def test_receipts_settle_the_earliest_instalments_and_never_over_collect(world):
    contract = signed_contract(world)
    today = local_today(world.tenant)
    payment_plan_save(
        acting_user=world.rep1,
        contract=contract,
        instalments=[(today, Decimal("5000")), (today + dt.timedelta(days=30), Decimal("6300"))],
    )
    receipt_record(acting_user=world.rep1, contract=contract, received_on=today, amount=Decimal("3000"), method="bank")
    receipt_record(
        acting_user=world.rep1,
        contract=contract,
        received_on=today,
        amount=Decimal("4000"),
        method="cash",
        reference="X1",
    )
    first, second = Instalment.objects.order_by("position")
    assert (first.received, second.received) == (Decimal("5000"), Decimal("2000"))
    assert Receipt.objects.latest("pk").allocations.count() == 2
    with pytest.raises(DomainError, match="Only 4,300.00 CNY is outstanding"):
        receipt_record(
            acting_user=world.rep1, contract=contract, received_on=today, amount=Decimal("4300.01"), method="bank"
        )
    with pytest.raises(DomainError, match="cannot be in the future"):
        receipt_record(
            acting_user=world.rep1,
            contract=contract,
            received_on=today + dt.timedelta(days=1),
            amount=Decimal("1"),
            method="bank",
        )
    with pytest.raises(DomainError, match="plan is kept"):
        payment_plan_save(acting_user=world.rep1, contract=contract, instalments=[(today, Decimal("11300"))])
    assert Receipt.objects.count() == 2


@pytest.mark.django_db
def test_overdue_reminders_go_to_the_owner_then_the_manager_once(world):
    contract = signed_contract(world)
    today = local_today(world.tenant)
    payment_plan_save(
        acting_user=world.rep1,
        contract=contract,
        instalments=[(today - dt.timedelta(days=3), Decimal("5000")), (today - dt.timedelta(days=10), Decimal("6300"))],
    )
    assert contract_reminders_send(tenant_id=world.tenant.pk) == 3  # owner × 2, manager for the 10-day one
    assert contract_reminders_send(tenant_id=world.tenant.pk) == 0
    assert OverdueNotice.objects.count() == 3
    assert Notification.objects.filter(recipient=world.rep1, key__startswith="instalment-overdue:").count() == 2
    assert Notification.objects.filter(recipient=world.manager, key__startswith="instalment-overdue:").count() == 1
    receipt_record(acting_user=world.rep1, contract=contract, received_on=today, amount=Decimal("11300"), method="bank")
    Instalment.objects.update(due_on=today - dt.timedelta(days=30))
    assert contract_reminders_send(tenant_id=world.tenant.pk) == 0


@pytest.mark.django_db
def test_renewal_reminder_once_per_contract(world):
    today = local_today(world.tenant)
    contract = signed_contract(world, ends_on=today + dt.timedelta(days=20))
    assert contract_reminders_send(tenant_id=world.tenant.pk) == 1
    assert contract_reminders_send(tenant_id=world.tenant.pk) == 0
    assert Notification.objects.filter(recipient=world.rep1, key=f"contract-renewal:{contract.pk}").count() == 1


@pytest.mark.django_db
def test_the_dispatcher_queues_one_run_per_tenant(world, world_b, monkeypatch, django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(tasks.send_tenant_contract_reminders, "apply_async", lambda args=(), **kw: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_contract_reminders() == 2
    assert sorted(a[0] for a in queued) == sorted([world.tenant.pk, world_b.tenant.pk])


@pytest.mark.django_db
def test_the_pages(world, client_for, django_assert_max_num_queries):
    quote = accepted_quote(world)
    c = client_for(world.rep1)
    response = c.post(reverse("sales:contract_from_quote", args=[quote.pk]))
    contract = Contract.objects.get()
    assert response["Location"] == reverse("sales:contract_detail", args=[contract.pk])
    assert contract.number in c.get(reverse("sales:quote_detail", args=[quote.pk])).content.decode()
    c.post(reverse("sales:contract_submit", args=[contract.pk]))
    request = ApprovalRequest.objects.get(kind="sales.contract", object_id=contract.pk)
    approval_decide(acting_user=world.manager, request_id=request.pk, step=1, approve=True)
    c.post(reverse("sales:contract_status", args=[contract.pk]), {"status": "signed", "signed_on": ""})
    assert Contract.objects.get().status == ContractStatus.SIGNED
    today = local_today(world.tenant)
    plan = {
        "plan-TOTAL_FORMS": "2",
        "plan-INITIAL_FORMS": "0",
        "plan-MIN_NUM_FORMS": "0",
        "plan-MAX_NUM_FORMS": "60",
        "plan-0-due_on": today.isoformat(),
        "plan-0-amount": "5000",
        "plan-1-due_on": (today + dt.timedelta(days=30)).isoformat(),
        "plan-1-amount": "1000",
    }
    bad = c.post(reverse("sales:contract_plan", args=[contract.pk]), plan)
    assert bad.status_code == 422 and "the contract&#x27;s amount is 11,300.00" in bad.content.decode()
    plan["plan-1-amount"] = "6300"
    assert c.post(reverse("sales:contract_plan", args=[contract.pk]), plan).status_code == 302
    over = c.post(
        reverse("sales:contract_receipt", args=[contract.pk]),
        {"received_on": today.isoformat(), "amount": "20000", "method": "bank"},
    )
    assert over.status_code == 422 and "is outstanding on this contract" in over.content.decode()
    ok = c.post(
        reverse("sales:contract_receipt", args=[contract.pk]),
        {"received_on": today.isoformat(), "amount": "5000", "method": "bank", "reference": "ICBC-1"},
    )
    assert ok.status_code == 302
    with django_assert_max_num_queries(20):
        body = c.get(reverse("sales:contract_detail", args=[contract.pk])).content.decode()
    assert "ICBC-1" in body and "6,300.00" in body
    with django_assert_max_num_queries(12):
        assert contract.number in c.get(reverse("sales:contract_list")).content.decode()
    customer_page = c.get(reverse("customers:detail", args=[contract.customer_id])).content.decode()
    assert 'data-testid="customer-contracts"' in customer_page and contract.number in customer_page


@pytest.mark.django_db
def test_another_tenants_contract_is_404(world, world_b, client_for):
    from sales.services.pipeline import ensure_default_pipeline

    ensure_default_pipeline(world_b.tenant)
    theirs = contract_create_from_quote(acting_user=world_b.rep1, quote=accepted_quote(world_b))
    c = client_for(world.admin)
    assert c.get(reverse("sales:contract_detail", args=[theirs.pk])).status_code == 404
    for name in ("sales:contract_submit", "sales:contract_status", "sales:contract_plan", "sales:contract_receipt"):
        assert c.post(reverse(name, args=[theirs.pk]), {"status": "signed"}).status_code == 404
    assert c.post(reverse("sales:contract_from_quote", args=[theirs.quote_id])).status_code == 404
    assert client_for(world.rep2).get(reverse("sales:contract_detail", args=[theirs.pk])).status_code == 404
    assert Contract.objects.get(pk=theirs.pk).status == ContractStatus.DRAFT


@pytest.mark.django_db
def test_receivables_age_what_is_owed_per_customer_and_rep(world, client_for, django_assert_max_num_queries):
    from sales.selectors.receivables import receivables

    today = local_today(world.tenant)
    for _ in range(3):
        contract = signed_contract(world)
        payment_plan_save(
            acting_user=world.rep1,
            contract=contract,
            instalments=[
                (today - dt.timedelta(days=45), Decimal("1000")),
                (today - dt.timedelta(days=100), Decimal("300")),
                (today - dt.timedelta(days=5), Decimal("5000")),
                (today + dt.timedelta(days=10), Decimal("5000")),
            ],
        )
        receipt_record(
            acting_user=world.rep1, contract=contract, received_on=today, amount=Decimal("100"), method="cash"
        )
    rows = receivables(world.manager, by="rep", today=today)
    assert len(rows) == 1
    row = rows[0]
    assert (row["name"], row["outstanding"], row["overdue"]) == (
        world.rep1.full_name,
        Decimal("33600"),
        Decimal("18600"),
    )
    # The 100-day instalment got the receipts first (earliest due): 200 of it is left in each contract.
    assert dict(row["buckets"]) == {
        "0-30": Decimal("15000"),
        "31-60": Decimal("3000"),
        "61-90": Decimal("0"),
        "90+": Decimal("600"),
    }
    by_customer = receivables(world.rep1, by="customer", today=today)
    assert len(by_customer) == 3
    assert receivables(world.rep2, by="customer", today=today) == []
    c = client_for(world.manager)
    with django_assert_max_num_queries(12):
        page = c.get(reverse("sales:receivables"), {"by": "rep"}).content.decode()
    assert f"rep={world.rep1.pk}&amp;bucket=90+" in page
    with django_assert_max_num_queries(12):
        listed = c.get(reverse("sales:receivable_instalments"), {"rep": world.rep1.pk, "bucket": "31-60"})
    assert listed.content.decode().count("#2</td>") == 3  # the plan is ordered by due date
    customer_id = by_customer[0]["id"]
    body = c.get(reverse("sales:receivable_instalments"), {"customer": customer_id, "bucket": "overdue"}).content
    assert body.decode().count('<span class="text-danger">') == 3  # its three overdue instalments


@pytest.mark.django_db
def test_receivables_of_another_tenant_are_404(world, world_b, client_for):
    theirs = make_customer(world_b.rep1, "外司客户")
    c = client_for(world.manager)
    assert c.get(reverse("sales:receivable_instalments"), {"rep": world_b.rep1.pk}).status_code == 404
    assert c.get(reverse("sales:receivable_instalments"), {"customer": theirs.pk}).status_code == 404
    assert c.get(reverse("sales:receivables"), {"by": "nonsense"}).status_code == 200


PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.django_db
def test_the_signed_scan_is_type_and_size_checked_and_served_to_who_sees_the_customer(
    world, client_for, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from customers.services.share import customer_share
    from sales.models import ContractAttachment
    from sales.services.contract import contract_attach

    settings.MEDIA_ROOT = tmp_path / "media"
    contract = signed_contract(world)
    c = client_for(world.rep1)
    response = c.post(
        reverse("sales:contract_attach", args=[contract.pk]),
        {"file": SimpleUploadedFile("合同扫描件.pdf", PDF, content_type="application/pdf")},
    )
    assert response.status_code == 302
    attachment = ContractAttachment.objects.get()
    assert (attachment.name, attachment.content_type, attachment.size) == (
        "合同扫描件.pdf",
        "application/pdf",
        len(PDF),
    )
    with pytest.raises(DomainError, match="PDF, JPEG or PNG"):
        contract_attach(
            acting_user=world.rep1,
            contract=contract,
            upload=SimpleUploadedFile("evil.pdf", b"MZ\x90\x00not a pdf", content_type="application/pdf"),
        )
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (10 * 1024 * 1024), content_type="application/pdf")
    with pytest.raises(DomainError, match="larger than 10 MB"):
        contract_attach(acting_user=world.rep1, contract=contract, upload=big)
    assert ContractAttachment.objects.count() == 1
    download = c.get(reverse("sales:contract_attachment", args=[attachment.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert client_for(world.manager).get(reverse("sales:contract_attachment", args=[attachment.pk])).status_code == 200
    # A colleague who does not see the customer gets 404, until the customer is shared with them.
    assert client_for(world.rep2).get(reverse("sales:contract_attachment", args=[attachment.pk])).status_code == 404
    customer_share(acting_user=world.rep1, customer=contract.customer, with_user=world.rep2)
    assert client_for(world.rep2).get(reverse("sales:contract_attachment", args=[attachment.pk])).status_code == 200
