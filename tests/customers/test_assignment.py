"""Assignment rules (issue 7): matching, round-robin and least-loaded with caps, quotas and inactive reps, the pools
of unplaced customers, new and imported customers through the rules, fairness under concurrent arrivals, the dry
run's no-change guarantee and its agreement with the backlog apply, and the settings pages (scoping, bad input)."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.urls import reverse

from crm.errors import DomainError
from crm.imports.models import ImportJob
from crm.imports.services import import_map, import_start, import_upload
from crm.models import AuditEvent, Notification, Role
from customers.imports.customer import CustomerKind
from customers.models import (
    AssignmentCursor,
    AssignmentLog,
    AssignmentRule,
    AssignmentSettings,
    Customer,
    CustomerLevel,
    CustomerTag,
    OwnershipEvent,
    Pool,
    Tag,
)
from customers.services.assignment import RuleSpec, _load_counters, choose_owner, register_load_counter
from customers.services.assignment_backlog import backlog_apply, backlog_dry_run
from customers.services.assignment_rule import rule_save, rule_set_active, settings_save
from customers.services.customer import customer_create
from customers.services.tenant import default_pool, tenant_defaults

from ..conftest import build_world
from ..factories import UserFactory
from .test_import import csv_bytes, row


def make_rule(world, name="规则", *, team=None, method="round_robin", active=True, **values) -> AssignmentRule:
    rule = rule_save(
        acting_user=world.admin,
        tenant=world.tenant,
        name=name,
        applies_to=values.pop("applies_to", "both"),
        team=team or world.sales,
        method=method,
        **values,
    )
    if active:
        rule_set_active(acting_user=world.admin, rule=rule, active=True)
    return rule


def new_customer(world, name, *, tags=(), **data) -> Customer:
    return customer_create(acting_user=world.admin, data={"name": name, **data}, tags=tags, assign_by_rules=True)


def pooled(world, name, pool=None, **data) -> Customer:
    return customer_create(
        acting_user=world.admin,
        data={"name": name, **data},
        owner=None,
        to_pool=pool or default_pool(world.tenant),
    )


@pytest.fixture
def english(world_a):
    """Pages in English for the assertions on messages (the tenant's language is zh-hans)."""
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])


def extra_reps(world, n, team=None):
    return [
        UserFactory(tenant=world.tenant, team=team or world.team1, roles=[Role.REP], full_name=f"加{i}")
        for i in range(n)
    ]


# --- matching ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rules_match_on_source_region_industry_level_and_tag(world_a):
    tenant_defaults(tenant=world_a.tenant)
    level_a = CustomerLevel.objects.get(tenant=world_a.tenant, code="A")
    vip = Tag.objects.create(tenant=world_a.tenant, name="VIP")
    rule = make_rule(
        world_a,
        sources=["官网", " 展会 "],
        regions=["浙江省"],
        industries=["ＩＴ"],  # full-width: compares as "it"
        levels=[level_a],
        tags=[vip],
    )
    spec = RuleSpec.of(rule)
    good = {"source": "展会", "region": "浙江省", "industry": "it", "level": level_a.pk, "tags": [vip.pk]}
    assert spec.matches(good)
    assert spec.matches({**good, "source": "官网", "level": level_a})  # a level object works too
    for key, other in [("source", "电话"), ("region", "江苏省"), ("industry", "零售"), ("level", None), ("tags", [])]:
        assert not spec.matches({**good, key: other}), key
    # Conditions a rule does not set match anything.
    catch_all = RuleSpec.of(make_rule(world_a, "兜底", active=False))
    assert catch_all.matches({}) and not catch_all.has_conditions
    # applies_to
    customers_only = RuleSpec.of(make_rule(world_a, "仅客户", applies_to="customers", active=False))
    assert customers_only.applies("customer") and not customers_only.applies("lead")


# --- round-robin, least-loaded, caps, quotas ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_round_robin_takes_turns_skipping_inactive_capped_and_quota_reps(world_a, django_capture_on_commit_callbacks):
    reps = [world_a.rep1, world_a.rep2, *extra_reps(world_a, 1, team=world_a.team2)]
    reps.sort(key=lambda u: u.pk)
    make_rule(world_a, "轮流")
    with django_capture_on_commit_callbacks(execute=False):
        owners = [new_customer(world_a, f"轮流{i}").owner for i in range(6)]
    assert owners == reps + reps
    # An inactive rep is skipped.
    reps[1].is_active = False
    reps[1].save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=False):
        owners = [new_customer(world_a, f"停用后{i}").owner for i in range(2)]
    assert owners == [reps[0], reps[2]]
    # A rep at the company's cap is skipped: reps[0] holds 3 now, reps[2] holds 3.
    world_a.tenant.max_customers_per_rep = 3
    world_a.tenant.save()
    world_a.admin.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False):
        blocked = new_customer(world_a, "都满了")
    # Both are at the cap: the customer goes to the pool for unmatched customers (the default pool).
    assert blocked.owner is None and blocked.pool == default_pool(world_a.tenant)


@pytest.mark.django_db
def test_daily_quota_per_rep(world_a, django_capture_on_commit_callbacks):
    make_rule(world_a, "配额", daily_quota=1)
    with django_capture_on_commit_callbacks(execute=False):
        owners = [new_customer(world_a, f"配额{i}").owner for i in range(3)]
    assert set(owners[:2]) == {world_a.rep1, world_a.rep2} and owners[2] is None
    assert AssignmentLog.objects.filter(tenant=world_a.tenant).count() == 2


@pytest.mark.django_db
def test_least_loaded_counts_customers_and_registered_loads(world_a, django_capture_on_commit_callbacks):
    for i in range(3):
        customer_create(acting_user=world_a.admin, data={"name": f"一号的{i}"}, owner=world_a.rep1)
    make_rule(world_a, "最空闲", method="least_loaded")
    with django_capture_on_commit_callbacks(execute=False):
        assert new_customer(world_a, "给最空闲").owner == world_a.rep2  # 0 < 3
        # Sales registers open leads as load: rep2 now carries 10 of them.
        register_load_counter("test.leads", lambda tenant_id, ids: {world_a.rep2.pk: 10})
        try:
            assert new_customer(world_a, "按线索负载").owner == world_a.rep1  # 3 < 1 + 10
        finally:
            _load_counters.pop("test.leads")


@pytest.mark.django_db
def test_unplaced_customers_go_to_the_overflow_or_the_unmatched_pool(world_a, django_capture_on_commit_callbacks):
    overflow = Pool.objects.create(tenant=world_a.tenant, name="满员池")
    unmatched = Pool.objects.create(tenant=world_a.tenant, name="未匹配池")
    settings_save(acting_user=world_a.admin, tenant=world_a.tenant, unmatched_pool=unmatched)
    make_rule(world_a, "官网一组", team=world_a.team1, sources=["官网"], daily_quota=1, overflow_pool=overflow)
    make_rule(world_a, "展会", team=world_a.team2, sources=["展会"], daily_quota=1)
    make_rule(world_a, "展会兜底", team=world_a.team1, sources=["展会"])
    with django_capture_on_commit_callbacks(execute=False):
        assert new_customer(world_a, "官网1", source="官网").owner == world_a.rep1
        second = new_customer(world_a, "官网2", source="官网")  # quota used, rule has an overflow pool
        assert second.owner is None and second.pool == overflow
        assert new_customer(world_a, "展会1", source="展会").owner == world_a.rep2
        # Quota used, no overflow pool: the next rule takes it.
        assert new_customer(world_a, "展会2", source="展会").owner == world_a.rep1
        other = new_customer(world_a, "电话", source="电话")
        assert other.owner is None and other.pool == unmatched
    event = OwnershipEvent.objects.get(customer=other)
    assert event.reason == "create" and event.to_pool == unmatched


@pytest.mark.django_db
def test_assignment_writes_history_with_the_rules_name_and_notifies(world_a, django_capture_on_commit_callbacks):
    tag = Tag.objects.create(tenant=world_a.tenant, name="高意向")
    rule = make_rule(world_a, "高意向给一组", team=world_a.team1, tags=[tag])
    with django_capture_on_commit_callbacks(execute=False):
        customer = new_customer(world_a, "带标签", tags=[tag])
    assert customer.owner == world_a.rep1 and customer.owned_since is not None
    event = OwnershipEvent.objects.get(customer=customer)
    assert (event.reason, event.note, event.to_owner, event.actor) == ("assign", rule.name, world_a.rep1, world_a.admin)
    log = AssignmentLog.objects.get(tenant=world_a.tenant)
    assert (log.rule, log.user, log.record_kind, log.record_id) == (rule, world_a.rep1, "customer", customer.pk)
    assert AssignmentCursor.objects.get(rule=rule).last_user == world_a.rep1
    note = Notification.objects.get(recipient=world_a.rep1)
    assert "带标签" in note.body and rule.name in note.body
    assert AuditEvent.objects.get(action="customer.create", object_id=str(customer.pk)).details["rule"] == rule.pk


@pytest.mark.django_db
def test_only_managers_and_admins_let_the_rules_choose(world_a):
    make_rule(world_a)
    with pytest.raises(PermissionDenied):
        customer_create(acting_user=world_a.rep1, data={"name": "代选"}, assign_by_rules=True)
    with pytest.raises(ValueError):
        customer_create(acting_user=world_a.admin, data={"name": "冲突"}, owner=world_a.rep1, assign_by_rules=True)
    assert not Customer.objects.filter(tenant=world_a.tenant).exists()


@pytest.mark.django_db
def test_choose_owner_for_leads(world_a, world_b):
    make_rule(world_a, "客户规则", team=world_a.team1, applies_to="customers")
    leads_rule = make_rule(world_a, "线索规则", team=world_a.team2, applies_to="leads", sources=["抖音"])
    with transaction.atomic():
        assert choose_owner(tenant=world_a.tenant, record_kind="lead", attrs={"source": "抖音"}) == (
            world_a.rep2,
            leads_rule,
        )
        assert choose_owner(tenant=world_a.tenant, record_kind="lead", attrs={"source": "官网"}) == (
            None,
            None,
        )
        # Another tenant's rules never apply.
        assert choose_owner(tenant=world_b.tenant, record_kind="lead", attrs={"source": "抖音"}) == (
            None,
            None,
        )
    log = AssignmentLog.objects.get(tenant=world_a.tenant)
    assert log.record_kind == "lead" and log.user == world_a.rep2


# --- fairness under concurrent arrivals ----------------------------------------------------------------------------


def _create_concurrently(world, names):
    barrier = threading.Barrier(len(names))
    errors = []

    def create(name):
        try:
            barrier.wait()
            customer_create(acting_user=world.admin, data={"name": name}, assign_by_rules=True)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(name,)) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", ["round_robin", "least_loaded"])
def test_simultaneous_arrivals_are_shared_fairly(method, redis_test_db):
    """Eight customers arrive at once, six rounds running: with four reps each round gives every rep exactly two —
    no two arrivals ever race for the same "next" rep."""
    world = build_world(f"Fair{method[:1]}")
    reps = sorted([world.rep1, world.rep2, *extra_reps(world, 2)], key=lambda u: u.pk)
    make_rule(world, "公平", method=method)
    # Outside a transaction its locks would end at once: refused.
    with pytest.raises(TransactionManagementError):
        choose_owner(tenant=world.tenant, record_kind="lead", attrs={})
    for round_ in range(6):
        _create_concurrently(world, [f"同时{round_}-{i}" for i in range(8)])
        held = Counter(
            Customer.objects.filter(tenant=world.tenant, owner__isnull=False).values_list("owner_id", flat=True)
        )
        assert held == {rep.pk: 2 * (round_ + 1) for rep in reps}, (round_, held)
    assert AssignmentLog.objects.filter(tenant=world.tenant).count() == 48
    assert OwnershipEvent.objects.filter(tenant=world.tenant, reason="assign").count() == 48


# --- imports ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_by_the_rules(world_a, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    tenant_defaults(tenant=world_a.tenant)
    rule = make_rule(world_a, "展会导入", sources=["展会"])
    rows = [row(f"导入公司{i}有限公司", mobile=f"1350000{i:04d}") for i in range(4)]
    phone_row = row("电话来的有限公司", mobile="13500009999")
    phone_row[4] = "电话"  # the source column: no rule matches
    job = import_upload(
        acting_user=world_a.manager,
        kind=CustomerKind,
        uploaded=SimpleUploadedFile("rules.csv", csv_bytes([*rows, phone_row])),
        destination="rules",
    )
    import_map(acting_user=world_a.manager, job=job, columns=job.mapping)
    with django_capture_on_commit_callbacks(execute=False):
        job = import_start(acting_user=world_a.manager, job=job)
    assert job.status == "done" and job.created_count == 5, job.error
    imported = Customer.objects.filter(tenant=world_a.tenant, created_by=world_a.manager)
    owners = Counter(imported.filter(source="展会").values_list("owner_id", flat=True))
    assert owners == {world_a.rep1.pk: 2, world_a.rep2.pk: 2}
    unmatched = imported.get(source="电话")
    assert unmatched.owner is None and unmatched.pool == default_pool(world_a.tenant)
    events = OwnershipEvent.objects.filter(customer__in=imported)
    assert set(events.filter(reason="assign").values_list("note", flat=True)) == {rule.name}
    assert events.get(customer=unmatched).reason == "import"
    # One digest per new owner, listing their customers.
    for rep in (world_a.rep1, world_a.rep2):
        (note,) = Notification.objects.filter(recipient=rep)
        assert note.body.count("展会导入") == 2
    assert AuditEvent.objects.get(action="customer.import").details["assigned"] == 4
    # A rep cannot import by the rules.
    with pytest.raises(DomainError, match="assignment rules"):
        import_upload(
            acting_user=world_a.rep1,
            kind=CustomerKind,
            uploaded=SimpleUploadedFile("r.csv", csv_bytes(rows)),
            destination="rules",
        )


# --- the dry run and the backlog apply -----------------------------------------------------------------------------

FINGERPRINT_TABLES = [
    "customers_customer",
    "customers_ownershipevent",
    "customers_assignmentrule",
    "customers_assignmentcursor",
    "customers_assignmentlog",
    "customers_customertag",
    "crm_notification",
    "crm_auditevent",
    "crm_outboundmessage",
    "crm_user",
]


def fingerprint() -> dict[str, tuple[int, str]]:
    """Every row of the tables a dry run could touch, hashed in id order: any insert, update or delete changes it."""
    result = {}
    with connection.cursor() as cursor:
        for table in FINGERPRINT_TABLES:
            cursor.execute(f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') FROM {table} t")  # noqa: S608
            count, digest = cursor.fetchone()
            result[table] = (count, hashlib.sha1(digest.encode()).hexdigest())
    return result


@pytest.fixture
def backlog(world_a, django_capture_on_commit_callbacks):
    """A pool of 9 waiting customers: 6 from 官网 (2 tagged), 3 from 电话; four reps in the sales teams."""
    tag = Tag.objects.create(tenant=world_a.tenant, name="重点")
    with django_capture_on_commit_callbacks(execute=False):
        customers = [pooled(world_a, f"待分配{i}", source="官网" if i < 6 else "电话") for i in range(9)]
    CustomerTag.objects.create(tenant=world_a.tenant, customer=customers[0], tag=tag)
    CustomerTag.objects.create(tenant=world_a.tenant, customer=customers[1], tag=tag)
    return customers, tag


@pytest.mark.django_db
def test_a_dry_run_changes_nothing(world_a, backlog, client_for, english, django_capture_on_commit_callbacks):
    customers, tag = backlog
    make_rule(world_a, "已启用", team=world_a.team1, tags=[tag])
    rule = make_rule(world_a, "官网", sources=["官网"], active=False)
    c = client_for(world_a.admin)  # logging in writes last_login: before the fingerprint
    before = fingerprint()
    plan = backlog_dry_run(tenant=world_a.tenant, rule=RuleSpec.of(rule))
    assert len(plan.assigned) == 4 and len(plan.left_to_earlier) == 2
    edit = reverse("assignment:edit", args=[rule.pk])
    form = {"name": "官网", "applies_to": "both", "sources": "官网", "team": world_a.sales.pk, "method": "round_robin"}
    assert c.get(edit).status_code == 200
    assert c.post(edit, form, HTTP_HX_REQUEST="true").status_code == 200
    assert c.post(edit, {**form, "_dry_run": "1"}).status_code == 200
    assert c.post(reverse("assignment:create"), {**form, "name": "新", "_dry_run": "1"}).status_code == 200
    assert c.get(reverse("assignment:enable", args=[rule.pk])).status_code == 200
    assert c.get(reverse("assignment:apply", args=[rule.pk])).status_code == 200
    assert fingerprint() == before
    # …while a real assignment does change the fingerprint (the check is not blind).
    with django_capture_on_commit_callbacks(execute=False):
        backlog_apply(acting_user=world_a.admin, rule=rule, ids={"customer": plan.ids_of("customer")})
    assert fingerprint() != before


@pytest.mark.django_db
def test_dry_run_equals_apply_which_is_confirmed_audited_and_notifies_once(
    world_a, backlog, client_for, english, django_capture_on_commit_callbacks
):
    customers, _tag = backlog
    world_a.tenant.max_customers_per_rep = 2
    world_a.tenant.save()
    customer_create(acting_user=world_a.admin, data={"name": "已有"}, owner=world_a.rep2)
    rule = make_rule(world_a, "官网回收", sources=["官网"], active=False)
    plan = backlog_dry_run(tenant=world_a.tenant, rule=RuleSpec.of(rule))
    expected = {r.item.pk: r.owner.pk for r in plan.assigned}
    # rep1 takes 2 (the cap), rep2 1 (holds 1 already): 3 given, 3 of the 官网 customers stay.
    assert Counter(expected.values()) == {world_a.rep1.pk: 2, world_a.rep2.pk: 1}
    assert len(plan.unplaced) == 3 and plan.total == 6
    reps = {r.user.pk: r for r in plan.reps}
    assert (reps[world_a.rep2.pk].holds, reps[world_a.rep2.pk].gets, reps[world_a.rep2.pk].holds_after) == (1, 1, 2)
    c = client_for(world_a.admin)
    apply_url = reverse("assignment:apply", args=[rule.pk])
    page = c.get(apply_url)
    assert page.status_code == 200
    ids = page.context["form"].initial["ids"]
    # Not confirmed: refused with a message, nothing changes.
    refused = c.post(apply_url, {"ids": ids})
    assert refused.status_code == 422 and b"Tick the box to confirm." in refused.content
    assert not Customer.objects.filter(pk__in=expected, owner__isnull=False).exists()
    with django_capture_on_commit_callbacks(execute=False):
        done = c.post(apply_url, {"ids": ids, "confirm": "on"})
    assert done.status_code == 302
    got = dict(
        Customer.objects.filter(pk__in=[c.pk for c in customers], owner__isnull=False).values_list("pk", "owner")
    )
    assert got == expected
    events = OwnershipEvent.objects.filter(reason="assign", customer__in=list(expected))
    assert events.count() == 3 and set(events.values_list("note", flat=True)) == {"官网回收"}
    assert set(events.values_list("actor", flat=True)) == {world_a.admin.pk}
    assert Notification.objects.filter(recipient=world_a.rep1).count() == 1
    assert Notification.objects.filter(recipient=world_a.rep2).count() == 1
    audit = AuditEvent.objects.get(action="assignment.apply_backlog")
    assert audit.details["assigned"] == 3 and audit.actor == world_a.admin


@pytest.mark.django_db
def test_apply_skips_a_customer_claimed_meanwhile(world_a, backlog, django_capture_on_commit_callbacks):
    customers, _tag = backlog
    rule = make_rule(world_a, "电话", sources=["电话"], team=world_a.team1, active=False)
    plan = backlog_dry_run(tenant=world_a.tenant, rule=RuleSpec.of(rule))
    assert len(plan.assigned) == 3
    Customer.objects.filter(pk=customers[6].pk).update(owner=world_a.rep2)  # a colleague was faster
    with django_capture_on_commit_callbacks(execute=False):
        applied = backlog_apply(acting_user=world_a.admin, rule=rule, ids={"customer": plan.ids_of("customer")})
    assert len(applied.assigned) == 2
    assert Customer.objects.get(pk=customers[6].pk).owner == world_a.rep2
    assert AssignmentLog.objects.filter(rule=rule).count() == 2


@pytest.mark.django_db
def test_dry_run_of_a_pool_and_of_unsaved_values(world_a, backlog, client_for, english):
    other = Pool.objects.create(tenant=world_a.tenant, name="华南")
    pooled(world_a, "华南客户", pool=other, source="官网")
    spec = RuleSpec.build(
        pk=None,
        name="",
        order=99,
        applies_to="customers",
        team_id=world_a.team2.pk,
        include_subteams=True,
        method="round_robin",
        daily_quota=None,
        overflow_pool_id=None,
        sources=["官网"],
    )
    everywhere = backlog_dry_run(tenant=world_a.tenant, rule=spec)
    assert len(everywhere.assigned) == 7 and {r.owner for r in everywhere.assigned} == {world_a.rep2}
    one_pool = backlog_dry_run(tenant=world_a.tenant, rule=spec, pool_id=other.pk)
    assert [r.item.name for r in one_pool.assigned] == ["华南客户"]
    # The form's live dry run (htmx) answers the panel only, naming reps and customers.
    c = client_for(world_a.admin)
    response = c.post(
        reverse("assignment:create"),
        {"applies_to": "customers", "sources": "官网", "team": world_a.team2.pk, "method": "round_robin"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert world_a.rep2.full_name in html and "待分配0" in html and "7 records" in html
    assert not AssignmentRule.objects.filter(tenant=world_a.tenant).exists()


# --- the settings pages ----------------------------------------------------------------------------------------------


def rule_form(world, **overrides):
    data = {
        "name": "网站线索",
        "applies_to": "both",
        "sources": "官网, 百度推广",
        "regions": "",
        "industries": "",
        "team": world.sales.pk,
        "include_subteams": "on",
        "method": "round_robin",
        "daily_quota": "",
        "overflow_pool": "",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_admin_writes_reads_the_dry_run_and_enables_a_rule(world_a, backlog, client_for, english):
    c = client_for(world_a.admin)
    response = c.post(reverse("assignment:create"), rule_form(world_a))
    rule = AssignmentRule.objects.get(tenant=world_a.tenant, name="网站线索")
    assert response.status_code == 302 and response["Location"] == reverse("assignment:enable", args=[rule.pk])
    assert not rule.active and rule.sources == ["官网", "百度推广"]
    page = c.get(response["Location"])
    assert page.status_code == 200 and b"dry-run-summary" in page.content
    assert len(page.context["dry"].assigned) == 6
    assert c.post(response["Location"]).status_code == 302
    rule.refresh_from_db()
    assert rule.active
    assert AuditEvent.objects.filter(action="assignment.rule.enable", object_id=str(rule.pk)).exists()
    # The next new customer goes by it.
    assert customer_create(
        acting_user=world_a.admin, data={"name": "新来的", "source": "官网"}, assign_by_rules=True
    ).owner in (world_a.rep1, world_a.rep2)
    listing = c.get(reverse("assignment:list"))
    assert listing.status_code == 200 and "网站线索" in listing.content.decode()
    assert c.post(reverse("assignment:disable", args=[rule.pk])).status_code == 302
    rule.refresh_from_db()
    assert not rule.active


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"name": ""}, "name", "This field is required."),
        ({"team": ""}, "team", "This field is required."),
        ({"daily_quota": "0"}, "daily_quota", "greater than or equal to 1"),
        ({"method": "random"}, "method", "Select a valid choice"),
        ({"sources": "x" * 51}, "sources", "longer than 50 characters"),
        ({"sources": ",".join(str(i) for i in range(31))}, "sources", "at most 30 values"),
    ],
)
def test_bad_rule_input_is_refused_with_a_message_and_saves_nothing(
    world_a, client_for, english, overrides, field, message
):
    c = client_for(world_a.admin)
    response = c.post(reverse("assignment:create"), rule_form(world_a, **overrides))
    assert response.status_code == 422
    assert any(message in e for e in response.context["form"].errors[field]), response.context["form"].errors
    assert not AssignmentRule.objects.filter(tenant=world_a.tenant).exists()


@pytest.mark.django_db
def test_another_tenants_team_level_or_pool_is_refused(world_a, world_b, client_for, english):
    make_rule(world_a, "已存在", active=False)
    c = client_for(world_a.admin)
    b_level = CustomerLevel.objects.filter(tenant=world_b.tenant).first() or CustomerLevel.objects.create(
        tenant=world_b.tenant, code="Z", name="Z"
    )
    b_pool = default_pool(world_b.tenant)
    for overrides in ({"team": world_b.sales.pk}, {"levels": [b_level.pk]}, {"overflow_pool": b_pool.pk}):
        response = c.post(reverse("assignment:create"), rule_form(world_a, **overrides))
        assert response.status_code == 422, overrides
    duplicate = c.post(reverse("assignment:create"), rule_form(world_a, name="已存在"))
    assert duplicate.status_code == 422 and "A rule with this name already exists." in duplicate.content.decode()
    assert AssignmentRule.objects.filter(tenant=world_a.tenant).count() == 1
    # The service refuses the same, whatever calls it.
    with pytest.raises(DomainError):
        rule_save(
            acting_user=world_a.admin,
            tenant=world_a.tenant,
            name="越界",
            applies_to="both",
            team=world_b.sales,
            method="round_robin",
        )


@pytest.mark.django_db
def test_rules_are_reordered_edited_and_deleted(world_a, client_for):
    first = make_rule(world_a, "一", active=False)
    second = make_rule(world_a, "二", active=False)
    c = client_for(world_a.admin)
    assert c.post(reverse("assignment:move", args=[second.pk]), {"direction": "up"}).status_code == 302
    assert list(AssignmentRule.objects.filter(tenant=world_a.tenant).values_list("name", flat=True)) == ["二", "一"]
    edit = c.post(reverse("assignment:edit", args=[first.pk]), rule_form(world_a, name="一改", daily_quota="5"))
    assert edit.status_code == 302
    first.refresh_from_db()
    assert (first.name, first.daily_quota) == ("一改", 5)
    assert c.get(reverse("assignment:delete", args=[first.pk])).status_code == 200
    assert c.post(reverse("assignment:delete", args=[first.pk])).status_code == 302
    assert not AssignmentRule.objects.filter(pk=first.pk).exists()
    pool = Pool.objects.create(tenant=world_a.tenant, name="兜底池")
    assert c.post(reverse("assignment:settings"), {"unmatched_pool": pool.pk}).status_code == 302
    assert AssignmentSettings.objects.get(tenant=world_a.tenant).unmatched_pool == pool
    actions = set(AuditEvent.objects.filter(tenant=world_a.tenant).values_list("action", flat=True))
    assert {
        "assignment.rule.move",
        "assignment.rule.update",
        "assignment.rule.delete",
        "assignment.settings",
    } <= actions


@pytest.mark.django_db
def test_only_admins_and_only_their_tenant(world_a, world_b, client_for):
    rule = make_rule(world_a, "范围")
    urls = [
        ("get", reverse("assignment:edit", args=[rule.pk])),
        ("get", reverse("assignment:enable", args=[rule.pk])),
        ("get", reverse("assignment:apply", args=[rule.pk])),
        ("post", reverse("assignment:disable", args=[rule.pk])),
        ("post", reverse("assignment:move", args=[rule.pk])),
        ("post", reverse("assignment:delete", args=[rule.pk])),
    ]
    for user in (world_a.manager, world_a.rep1):
        c = client_for(user)
        assert c.get(reverse("assignment:list")).status_code == 403
        for method, url in urls:
            assert getattr(c, method)(url).status_code == 403, (user, url)
    outsider = client_for(world_b.admin)
    for method, url in urls:
        assert getattr(outsider, method)(url).status_code == 404, url
    assert "范围" not in outsider.get(reverse("assignment:list")).content.decode()
    rule.refresh_from_db()
    assert rule.active


@pytest.mark.django_db
def test_import_by_the_rules_gives_back_the_turn_of_a_row_refused_meanwhile(
    world_a, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    """A batch meets a concurrent duplicate: it is undone and redone row by row; the refused row's choice is given
    back, so the quota counts only customers really created."""
    settings.MEDIA_ROOT = tmp_path
    tenant_defaults(tenant=world_a.tenant)
    make_rule(world_a, "配额导入", daily_quota=2)
    rows = [row(f"竞争导入{i}有限公司", mobile=f"1370000{i:04d}") for i in range(4)]
    job = import_upload(
        acting_user=world_a.admin,
        kind=CustomerKind,
        uploaded=SimpleUploadedFile("q.csv", csv_bytes(rows)),
        destination="rules",
    )
    import_map(acting_user=world_a.admin, job=job, columns=job.mapping)
    original = CustomerKind.create

    def sneaky(kind, batch):
        customer_create(
            acting_user=world_a.rep2, data={"name": "抢先有限公司"}, contact={"name": "王五", "mobile": "13700000002"}
        )
        return original(kind, batch)

    monkeypatch.setattr(CustomerKind, "create", sneaky)
    with django_capture_on_commit_callbacks(execute=False):
        job = import_start(acting_user=world_a.admin, job=job)
    assert job.status == "done" and job.created_count == 3 and job.rejected_count == 1, job.error
    imported = Customer.objects.filter(tenant=world_a.tenant, created_by=world_a.admin)
    assert imported.filter(owner__isnull=False).count() == 3
    assert AssignmentLog.objects.filter(tenant=world_a.tenant).count() == 3
    # One turn of the quota (2 per rep, 4 in all) is left: the next new customer still goes by the rule.
    with django_capture_on_commit_callbacks(execute=False):
        assert new_customer(world_a, "配额还剩一个").owner is not None
        assert new_customer(world_a, "配额用完").owner is None


@pytest.mark.django_db
def test_the_import_page_offers_the_rules_to_managers_only(world_a, settings, tmp_path, client_for):
    settings.MEDIA_ROOT = tmp_path
    tenant_defaults(tenant=world_a.tenant)
    data = csv_bytes([row("页面导入有限公司", mobile="13800001234")])
    world_a.manager.language = "en"
    world_a.manager.save(update_fields=["language"])
    manager = client_for(world_a.manager)
    form = manager.get(reverse("customers:import")).context["form"]
    assert "rules" in dict(form.fields["target"].choices)
    response = manager.post(reverse("customers:import"), {"file": SimpleUploadedFile("p.csv", data), "target": "rules"})
    assert response.status_code == 302
    job = ImportJob.objects.latest("pk")
    assert CustomerKind.by_rules(job) and job.options["owner"] is None
    mapping = manager.get(response["Location"])
    assert mapping.context["destination"] == "owners chosen by the assignment rules"
    # A rep has nothing to choose: they import into their own holdings.
    rep_form = client_for(world_a.rep1).get(reverse("customers:import")).context["form"]
    assert "target" not in rep_form.fields
