"""Leads: who sees them (one query, 404 for everyone else), entering them with clear refusals, duplicates kept and
linked with their holder told no more than they may see, status and assignment rules, follow-ups on a lead, and the
list's fixed number of queries."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from crm.errors import DomainError
from crm.models import AuditEvent, Notification
from customers.services.assignment import RuleSpec
from customers.services.assignment_backlog import backlog_apply, backlog_dry_run
from customers.services.assignment_rule import rule_save
from customers.services.customer import customer_create
from customers.services.tenant import default_pool
from sales.models import FollowUp, Lead, LeadWebForm
from sales.services.lead import lead_create, lead_set_status, lead_update
from sales.services.lead_duplicate import duplicate_notes
from sales.services.web_form import lead_submit_web_form

from ..conftest import build_world
from .funnel import make_lead
from .helpers import in_english, make_customer

LIST = reverse("sales:lead_list")


# --- visibility ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_who_sees_which_lead(world):
    mine = make_lead(world.rep1, "一号的线索")
    theirs = make_lead(world.rep2, "二号的线索")
    nobodys = make_lead(world.manager, "无主线索", owner=None)
    visible = {u: set(Lead.objects.visible_to(u).values_list("pk", flat=True)) for u in (world.rep1, world.manager)}
    assert visible[world.rep1] == {mine.pk}
    # A manager sees their teams' leads and the unassigned ones, to hand them out.
    assert visible[world.manager] == {mine.pk, theirs.pk, nobodys.pk}
    assert set(Lead.objects.visible_to(world.admin).values_list("pk", flat=True)) == {mine.pk, theirs.pk, nobodys.pk}
    assert not Lead.objects.visible_to(world.agent).exists()
    with CaptureQueriesContext(connection) as ctx:
        list(Lead.objects.visible_to(world.manager))
    assert len(ctx.captured_queries) == 1


@pytest.mark.django_db
def test_a_lead_page_is_404_for_whoever_may_not_see_it(world, world_b, client_for):
    lead = make_lead(world.rep1, "一号的线索", phone="13800001111")
    url = reverse("sales:lead_detail", args=[lead.pk])
    assert client_for(world.rep1).get(url).status_code == 200
    assert client_for(world.manager).get(url).status_code == 200
    assert client_for(world.rep2).get(url).status_code == 404
    for outsider in (world_b.admin, world_b.manager, world_b.rep1):
        c = client_for(outsider)
        assert c.get(url).status_code == 404
        assert c.post(reverse("sales:lead_status", args=[lead.pk]), {"status": "qualified"}).status_code == 404
        assert (
            c.post(reverse("sales:lead_edit", args=[lead.pk]), {"name": "x", "phone": "13800001111"}).status_code == 404
        )
    lead.refresh_from_db()
    assert (lead.status, lead.name) == ("new", "一号的线索")
    assert client_for(world.agent).get(LIST).status_code == 403


@pytest.mark.django_db
def test_the_list_runs_a_fixed_number_of_queries(world, client_for, django_assert_max_num_queries):
    c = client_for(world.manager)

    def page_queries():
        with CaptureQueriesContext(connection) as ctx:
            response = c.get(LIST, {"status": "all"})
        assert response.status_code == 200
        return len(ctx.captured_queries), response

    for i in range(5):
        make_lead(world.rep1 if i % 2 else world.rep2, f"少量{i}")
    few, _ = page_queries()
    for i in range(45):
        make_lead(world.rep1, f"大量{i}", owner=world.rep1)
    with django_assert_max_num_queries(few):
        response = c.get(LIST, {"status": "all"})
    assert response.content.decode().count('data-testid="lead-row"') == 50
    # 12, the saved views menu, the lead pools' rules (the fall-back dates), the value lists, the custom fields, the
    # team choices and the tag filter's tags
    assert few <= 18, few


@pytest.mark.django_db
def test_search_by_phone_tail_email_and_name(world, client_for):
    make_lead(world.rep1, "王小明", company="杭州云帆科技有限公司", phone="13812345678", email="wang@yunfan.test")
    make_lead(world.rep1, "李四", phone="13900000000")
    c = client_for(world.rep1)
    for query in ("5678", "138 1234 5678", "wang@yunfan.test", "王小", "云帆科技"):
        body = c.get(LIST, {"q": query}).content.decode()
        assert "王小明" in body and "李四" not in body, query


# --- entering a lead -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rep_enters_a_lead_for_themself(world, client_for):
    c = client_for(world.rep1)
    response = c.post(
        reverse("sales:lead_create"),
        {"name": "赵六", "company": "成都赵氏贸易", "phone": "+86 139-0000-1234", "email": "ZHAO@Example.test"},
    )
    lead = Lead.objects.get(name="赵六")
    assert response.status_code == 302 and response["Location"] == reverse("sales:lead_detail", args=[lead.pk])
    assert (lead.owner, lead.phone, lead.email, lead.origin) == (
        world.rep1,
        "+8613900001234",
        "zhao@example.test",
        "manual",
    )
    assert lead.company_key == "成都赵氏贸易"
    assert AuditEvent.objects.filter(action="lead.create", object_id=str(lead.pk)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": "", "phone": "13900001234"}, "name", "This field is required."),
        ({"name": "坏电话", "phone": "12345"}, "phone", "is not a valid phone number"),
        ({"name": "坏邮箱", "email": "zhang@"}, "email", "is not a valid email address"),
        ({"name": "联系不上"}, "phone", "Give a phone number, an email or a WeChat ID"),
    ],
)
def test_bad_input_gets_a_clear_error_and_saves_nothing(world, client_for, data, field, message):
    response = client_for(world.rep1).post(reverse("sales:lead_create"), data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_only_managers_leave_a_lead_unassigned_or_give_it_away(world):
    with pytest.raises(PermissionDenied):
        lead_create(acting_user=world.rep1, data={"name": "无主", "wechat": "wx1"}, owner=None)
    with pytest.raises(DomainError) as refused:
        lead_create(acting_user=world.rep1, data={"name": "给别人", "wechat": "wx2"}, owner=world.rep2)
    assert refused.value.field == "owner"
    lead = lead_create(acting_user=world.manager, data={"name": "给二号", "wechat": "wx3"}, owner=world.rep2)
    assert lead.owner == world.rep2
    assert Notification.objects.filter(recipient=world.rep2, url=reverse("sales:lead_detail", args=[lead.pk])).exists()
    # A manager's choice stays within their teams: the service agent is not one of them.
    with pytest.raises(DomainError):
        lead_create(acting_user=world.manager, data={"name": "给客服", "wechat": "wx4"}, owner=world.agent)
    assert Lead.objects.count() == 1


# --- duplicates ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_lead_matching_a_customer_is_kept_flagged_linked_and_its_holder_told(world, client_for):
    customer = make_customer(world.rep2, "苏州星河电子有限公司", mobile="13700001111")
    with translation.override("zh-hans"):  # whoever enters it reads Chinese; rep2 reads English
        lead = make_lead(world.rep1, "星河的采购", phone="137 0000 1111")
    assert lead.pk and lead.is_duplicate and lead.duplicate_kind == "phone"
    assert lead.duplicate_of_customer == customer and lead.owner == world.rep1
    note = Notification.objects.get(recipient=world.rep2)
    assert note.title == "New enquiry matching your customer 苏州星河电子有限公司"
    assert "same phone number" in note.body and "held by A 销售一" in note.body
    assert note.url == reverse("customers:detail", args=[customer.pk])
    # rep1 may not see rep2's customer: they learn who holds it, not its name, and get no link.
    page = client_for(world.rep1).get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert "an existing customer held by A 销售二" in page
    assert "苏州星河电子" not in page and reverse("customers:detail", args=[customer.pk]) not in page
    # The admin sees the customer, but its phone masked: naming it here would confirm the number.
    page = client_for(world.admin).get(reverse("sales:lead_detail", args=[lead.pk])).content.decode()
    assert "an existing customer held by A 销售二" in page
    assert "苏州星河电子" not in page and reverse("customers:detail", args=[customer.pk]) not in page
    # A match on the company name, which is never masked, is named to whoever may see the customer.
    by_name = make_lead(world.rep1, "星河的老板", company="苏州星河电子")
    assert by_name.duplicate_kind == "company" and by_name.duplicate_of_customer == customer
    page = client_for(world.admin).get(reverse("sales:lead_detail", args=[by_name.pk])).content.decode()
    assert "苏州星河电子有限公司" in page and reverse("customers:detail", args=[customer.pk]) in page


@pytest.mark.django_db
def test_a_lead_matching_an_earlier_lead_is_linked_to_it(world, client_for):
    first = make_lead(world.rep2, "钱七", company="宁波海天物流有限公司", email="qian@haitian.test")
    again = make_lead(world.rep1, "钱七的同事", company="宁波海天物流", email="other@haitian.test")
    assert again.is_duplicate and again.duplicate_kind == "company" and again.duplicate_of_lead == first
    assert (
        Notification.objects.get(recipient=world.rep2).title
        == "New enquiry matching your lead 钱七 · 宁波海天物流有限公司"
    )
    page = client_for(world.rep1).get(reverse("sales:lead_detail", args=[again.pk])).content.decode()
    assert "an existing lead, held by A 销售二" in page and "钱七 ·" not in page
    manager_page = client_for(world.manager).get(reverse("sales:lead_detail", args=[first.pk])).content.decode()
    assert "钱七的同事" in manager_page  # the original lists the later leads matching it
    # The list can show only the duplicates.
    body = client_for(world.manager).get(LIST, {"duplicates": "on"}).content.decode()
    assert "钱七的同事" in body and "宁波海天物流有限公司</div>" not in body


@pytest.mark.django_db
def test_no_holder_is_told_of_their_own_lead(world):
    make_lead(world.rep1, "周八", phone="13611112222")
    make_lead(world.rep1, "周八又来", phone="13611112222")
    assert not Notification.objects.filter(recipient=world.rep1).exists()


@pytest.mark.django_db(transaction=True)
def test_two_identical_leads_sent_at_once_are_both_kept_and_one_is_flagged():
    world = build_world("R")
    web_form = LeadWebForm.objects.create(
        tenant=world.tenant, is_enabled=True, title="t", thank_you="thanks", fields=["name", "phone"]
    )
    for _round in range(5):
        Lead.objects.all().delete()
        barrier = threading.Barrier(2)
        errors = []

        def submit():
            try:
                barrier.wait()
                lead_submit_web_form(web_form=web_form, data={"name": "并发", "phone": "13512345678"})
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=submit) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        both = list(Lead.objects.order_by("pk"))
        assert len(both) == 2
        assert [lead.is_duplicate for lead in both] == [False, True]
        assert both[1].duplicate_of_lead_id == both[0].pk


@pytest.mark.django_db
def test_editing_a_lead_checks_its_identifiers_again(world):
    make_customer(world.rep2, "厦门鹭岛贸易有限公司", mobile="13522223333")
    lead = make_lead(world.rep1, "吴九", phone="13599998888")
    assert not lead.is_duplicate
    lead = lead_update(acting_user=world.rep1, lead=lead, data={"name": "吴九", "phone": "13522223333"})
    assert lead.is_duplicate and lead.duplicate_of_customer.name == "厦门鹭岛贸易有限公司"
    assert Notification.objects.filter(recipient=world.rep2).count() == 1
    lead = lead_update(acting_user=world.rep1, lead=lead, data={"name": "吴九", "phone": "13599998888"})
    assert not lead.is_duplicate and lead.duplicate_of_customer is None


# --- status, assignment, follow-ups --------------------------------------------------------------------------


@pytest.mark.django_db
def test_status_rules(world, client_for):
    lead = make_lead(world.rep1, "郑十")
    c = client_for(world.rep1)
    url = reverse("sales:lead_status", args=[lead.pk])
    response = c.post(url, {"status": "disqualified", "reason": ""}, follow=True)
    assert "Say why the lead is disqualified." in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == "new"
    c.post(url, {"status": "disqualified", "reason": "没有预算"})
    lead.refresh_from_db()
    assert (lead.status, lead.disqualified_reason) == ("disqualified", "没有预算")
    c.post(url, {"status": "qualified"})
    lead.refresh_from_db()
    assert (lead.status, lead.disqualified_reason) == ("qualified", "")
    with pytest.raises(DomainError):
        lead_set_status(acting_user=world.rep1, lead=lead, status="converted")
    assert AuditEvent.objects.filter(action="lead.status", object_id=str(lead.pk)).count() == 2


@pytest.mark.django_db
def test_a_manager_hands_out_unassigned_leads(world, world_b, client_for):
    lead = make_lead(world.manager, "无主线索", owner=None)
    other = make_lead(world.manager, "另一个", owner=None)
    theirs = make_lead(world_b.rep1, "B 的线索")
    c = client_for(world.manager)
    # Another tenant's id among the chosen: refused, nothing changes.
    response = c.post(
        reverse("sales:lead_bulk_assign"), {"owner": world.rep1.pk, "leads": [lead.pk, theirs.pk]}, follow=True
    )
    assert "Choose leads you can see." in response.content.decode()
    assert Lead.objects.filter(owner__isnull=True).count() == 2
    c.post(reverse("sales:lead_bulk_assign"), {"owner": world.rep1.pk, "leads": [lead.pk, other.pk]})
    assert set(Lead.objects.filter(owner=world.rep1).values_list("pk", flat=True)) == {lead.pk, other.pk}
    assert Notification.objects.get(recipient=world.rep1).title == "A 经理 gave you 2 leads"
    # A rep cannot hand leads out.
    assert (
        client_for(world.rep1).post(reverse("sales:lead_assign", args=[lead.pk]), {"owner": world.rep2.pk}).status_code
        == 403
    )
    theirs.refresh_from_db()
    assert theirs.owner == world_b.rep1


@pytest.mark.django_db
def test_a_follow_up_on_a_new_lead_makes_it_contacted(world, client_for):
    lead = make_lead(world.rep1, "冯十一")
    c = client_for(world.rep1)
    response = c.post(
        reverse("sales:lead_followup", args=[lead.pk]),
        {"kind": "call", "happened_at": "", "content": "电话沟通了需求", "outcome": "positive"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422  # the time is required
    assert not FollowUp.objects.exists()
    from django.utils import timezone

    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = c.post(
        reverse("sales:lead_followup", args=[lead.pk]),
        {"kind": "call", "happened_at": now, "content": "电话沟通了需求", "outcome": "positive"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "电话沟通了需求" in response.content.decode()
    follow_up = FollowUp.objects.get()
    assert (follow_up.lead, follow_up.customer) == (lead, None)
    lead.refresh_from_db()
    assert lead.status == "contacted" and lead.last_followed_up_at is not None
    # It shows in the follow-up list (with a link to the lead), not to someone who cannot see the lead.
    assert "冯十一" in c.get(reverse("sales:followup_list")).content.decode()
    assert "电话沟通了需求" not in client_for(world.rep2).get(reverse("sales:followup_list")).content.decode()
    # Its author corrects it within the day, and is sent back to the lead.
    response = c.post(
        reverse("sales:followup_edit", args=[follow_up.pk]),
        {"kind": "wechat", "happened_at": now, "content": "微信沟通了需求", "outcome": "neutral"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("sales:lead_detail", args=[lead.pk])


@pytest.mark.django_db
def test_duplicate_holder_description_never_names_an_invisible_customer(world):
    customer = customer_create(
        acting_user=world.admin,
        data={"name": "公海里的公司"},
        contact={"name": "某人", "mobile": "13344445555"},
        owner=None,
        to_pool=default_pool(world.tenant),
    )
    lead = make_lead(world.rep1, "公海来问", phone="13344445555")
    assert lead.duplicate_of_customer == customer
    notes = duplicate_notes(lead, world.rep1)
    assert notes[0]["url"] == "" and "公海里的公司" not in notes[0]["text"]
    assert "in the pool" in notes[0]["text"]
    in_english(world.rep1)


@pytest.mark.django_db
def test_unassigned_leads_are_in_the_rules_dry_run_and_the_backlog_apply(world, django_capture_on_commit_callbacks):
    from .funnel import make_lead

    lead = make_lead(world.manager, "待分配线索", owner=None, source="展会")
    other = make_lead(world.manager, "别的来源", owner=None, source="官网")
    rule = rule_save(
        acting_user=world.admin,
        tenant=world.tenant,
        name="展会线索",
        applies_to="leads",
        team=world.sales,
        method="round_robin",
        sources=["展会"],
    )
    plan = backlog_dry_run(tenant=world.tenant, rule=RuleSpec.of(rule))
    planned = {(row.item.kind, row.item.pk) for row in plan.assigned}
    assert ("lead", lead.pk) in planned and ("lead", other.pk) not in planned
    lead.refresh_from_db()
    assert lead.owner is None  # the dry run changed nothing
    with django_capture_on_commit_callbacks(execute=False):
        backlog_apply(acting_user=world.admin, rule=rule, ids={"lead": [lead.pk]})
    lead.refresh_from_db()
    other.refresh_from_db()
    assert lead.owner is not None and other.owner is None


@pytest.mark.django_db
def test_handing_out_leads_goes_back_only_within_this_site(world, client_for):
    lead = make_lead(world.manager, "回到列表", owner=None)
    c = client_for(world.manager)
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        r = c.post(reverse("sales:lead_bulk_assign"), {"owner": world.rep1.pk, "leads": [lead.pk], "back": evil})
        assert r.status_code == 302 and r.url == LIST
    r = c.post(reverse("sales:lead_bulk_assign"), {"owner": world.rep1.pk, "leads": [lead.pk], "back": LIST + "?q=x"})
    assert r.url == LIST + "?q=x"
