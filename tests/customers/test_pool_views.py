import pytest
from django.urls import reverse

from crm.approvals.models import ApprovalRequest
from customers.models import Customer, ExtensionRequest, OwnershipEvent, Pool, PoolTeam
from customers.services.customer import customer_create
from customers.services.extension import extension_request
from customers.services.tenant import default_pool


@pytest.fixture
def open_pool(world_a):
    pool = default_pool(world_a.tenant)
    PoolTeam.objects.get_or_create(tenant=world_a.tenant, pool=pool, team=world_a.sales)
    return pool


def pooled(world, name, mobile="13800138000", email="secret.person@example.test"):
    return customer_create(
        acting_user=world.admin,
        data={"name": name},
        contact={"name": "联系人甲", "mobile": mobile, "email": email},
        owner=None,
        to_pool=default_pool(world.tenant),
    )


@pytest.mark.django_db
def test_pool_list_masks_and_claim_by_htmx(world_a, client_for, open_pool):
    customer = pooled(world_a, "公海公司")
    c = client_for(world_a.rep1)
    r = c.get(reverse("pool:list"))
    body = r.content.decode()
    assert "公海公司" in body
    assert "138****8000" in body and "13800138000" not in body and "secret.person" not in body
    r = c.post(reverse("pool:claim", args=[customer.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'data-testid="claim-ok"' in r.content.decode()
    r = client_for(world_a.rep2).post(reverse("pool:claim", args=[customer.pk]), HTTP_HX_REQUEST="true")
    assert world_a.rep1.full_name in r.content.decode() and "claim-error" in r.content.decode()
    # Claimed: everything is revealed on the customer page.
    assert "13800138000" in "".join(c.get(reverse("customers:detail", args=[customer.pk])).content.decode().split())


@pytest.mark.django_db
def test_masked_data_never_reaches_the_browser_before_a_claim(world_a, client_for, open_pool):
    customer = pooled(world_a, "保密公司")
    c = client_for(world_a.rep1)
    for url, kwargs in [
        (reverse("pool:list"), {}),
        (reverse("pool:list"), {"HTTP_HX_REQUEST": "true"}),
        (reverse("pool:list") + "?q=13800138000", {}),
        (reverse("pool:customer", args=[customer.pk]), {}),
    ]:
        body = "".join(c.get(url, **kwargs).content.decode().split())
        assert "8613800138000" not in body and "13800138000" not in body.replace("q=13800138000", "").replace(
            'value="13800138000"', ""
        ), url
        assert "secret.person@example.test" not in body, url
    # And not on the owned-customers list or its export either (pool customers are not in visible_to).
    assert "保密公司" not in client_for(world_a.manager).get(reverse("customers:list")).content.decode()
    assert client_for(world_a.rep1).get(reverse("customers:detail", args=[customer.pk])).status_code == 404


@pytest.mark.django_db
def test_view_limit_on_the_pool_customer_page(world_a, client_for, open_pool):
    open_pool.daily_view_limit = 1
    open_pool.save()
    first, second = (
        pooled(world_a, "一号", "13800138001", "a1@x.test"),
        pooled(world_a, "二号", "13800138002", "a2@x.test"),
    )
    c = client_for(world_a.rep1)
    r = c.get(reverse("pool:customer", args=[first.pk]))
    assert r.status_code == 200 and r.context["views_left"] == 0
    r = c.get(reverse("pool:customer", args=[second.pk]))
    assert r.status_code == 302


@pytest.mark.django_db
def test_pool_visible_only_to_named_teams_and_tenant(world_a, world_b, client_for):
    customer = pooled(world_a, "未开放")
    PoolTeam.objects.filter(pool=customer.pool).exclude(team=world_a.service_team).delete()
    assert client_for(world_a.rep1).get(reverse("pool:customer", args=[customer.pk])).status_code == 404
    assert client_for(world_b.admin).get(reverse("pool:customer", args=[customer.pk])).status_code == 404
    assert client_for(world_a.admin).get(reverse("pool:customer", args=[customer.pk])).status_code == 200


@pytest.mark.django_db
def test_release_with_reason_and_cooldown_message(world_a, client_for, open_pool):
    open_pool.reclaim_cooldown_days = 7
    open_pool.save()
    customer = customer_create(acting_user=world_a.rep1, data={"name": "释放公司"})
    c = client_for(world_a.rep1)
    r = c.post(reverse("pool:release", args=[customer.pk]), {"reason": ""})
    assert r.status_code == 422
    r = c.post(reverse("pool:release", args=[customer.pk]), {"reason": "没有需求"})
    assert r.status_code == 302
    customer.refresh_from_db()
    assert customer.owner is None
    r = c.post(reverse("pool:claim", args=[customer.pk]), HTTP_HX_REQUEST="true")
    assert "claim-error" in r.content.decode()
    # Only the owner releases.
    other = customer_create(acting_user=world_a.rep2, data={"name": "别人的"})
    assert (
        client_for(world_a.manager).post(reverse("pool:release", args=[other.pk]), {"reason": "x"}).status_code == 403
    )


@pytest.mark.django_db
def test_manager_assigns_from_the_pool_page(world_a, client_for, open_pool, django_capture_on_commit_callbacks):
    a, b = pooled(world_a, "甲", "13800138011", "x1@x.test"), pooled(world_a, "乙", "13800138012", "x2@x.test")
    c = client_for(world_a.manager)
    with django_capture_on_commit_callbacks(execute=False):
        r = c.post(reverse("pool:assign"), {"ids": f"{a.pk},{b.pk}", "rep": world_a.rep2.pk})
    assert r.status_code == 302
    assert set(Customer.objects.filter(owner=world_a.rep2)) == {a, b}
    assert client_for(world_a.rep1).get(reverse("pool:assign")).status_code == 403


@pytest.mark.django_db
def test_extension_request_from_at_risk_and_manager_approves(
    world_a, client_for, open_pool, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    open_pool.no_followup_days = 30
    open_pool.save()
    customer = customer_create(acting_user=world_a.rep1, data={"name": "快回落"})
    Customer.objects.filter(pk=customer.pk).update(
        owned_since=timezone.now() - dt.timedelta(days=60), last_followed_up_at=timezone.now() - dt.timedelta(days=29)
    )
    rep = client_for(world_a.rep1)
    r = rep.get(reverse("pool:at_risk"))
    assert "快回落" in r.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        rep.post(reverse("pool:extension_request", args=[customer.pk]), {"reason": "下周签约"})
    ext = ExtensionRequest.objects.get(customer=customer)
    approval = ApprovalRequest.objects.get(kind="pool.extension", object_id=ext.pk)
    decide = reverse("approvals:decide", args=[approval.pk])
    mgr = client_for(world_a.manager)
    page = mgr.get(reverse("pool:extensions")).content.decode()
    assert "快回落" in page and f'data-testid="approve-{approval.pk}"' in page
    # Another rep neither sees nor decides it.
    assert client_for(world_a.rep2).post(decide, {"step": 1, "decision": "reject"}).status_code == 404
    with django_capture_on_commit_callbacks(execute=False):
        r = mgr.post(decide, {"step": 1, "decision": "approve", "next": reverse("pool:extensions")})
    assert r.status_code == 302 and r["Location"] == reverse("pool:extensions")
    customer.refresh_from_db()
    assert customer.extension_days == open_pool.extension_days
    assert OwnershipEvent.objects.filter(customer=customer, reason="extension").exists()
    assert ExtensionRequest.objects.get(pk=ext.pk).status == "approved"
    assert f"+{open_pool.extension_days}" in mgr.get(reverse("pool:extensions")).content.decode()


@pytest.mark.django_db
def test_admin_configures_pool_with_level_rules(world_a, client_for):
    from customers.models import CustomerLevel, PoolLevelRule

    pool = default_pool(world_a.tenant)
    level_a = CustomerLevel.objects.get(tenant=world_a.tenant, code="A")
    c = client_for(world_a.admin)
    data = {
        "name": "华东公海",
        "teams": [world_a.team1.pk],
        "no_followup_days": "30",
        "warn_days_before": "3",
        "extension_days": "7",
        "reclaim_cooldown_days": "7",
        "max_claims_per_day": "5",
        "daily_view_limit": "20",
        "exempt_key_accounts": "on",
        "max_customers_per_rep": "150",
        f"level_{level_a.pk}_followup": "60",
    }
    r = c.post(reverse("pool_settings:create"), data)
    assert r.status_code == 302, r.context["form"].errors if r.context else r
    new = Pool.objects.get(tenant=world_a.tenant, name="华东公海")
    assert list(new.teams.all()) == [world_a.team1]
    assert PoolLevelRule.objects.get(pool=new, level=level_a).no_followup_days == 60
    world_a.tenant.refresh_from_db()
    assert world_a.tenant.max_customers_per_rep == 150
    # Bad input: warning window longer than the rule, a bad level value, a duplicate name → nothing saved.
    bad = {**data, "name": pool.name, "warn_days_before": "40", f"level_{level_a.pk}_followup": "abc"}
    r = c.post(reverse("pool_settings:edit", args=[new.pk]), bad)
    assert r.status_code == 422
    new.refresh_from_db()
    assert new.name == "华东公海" and new.warn_days_before == 3
    # Only admins.
    assert client_for(world_a.manager).get(reverse("pool_settings:list")).status_code == 403


@pytest.mark.django_db
def test_pool_list_query_count_is_fixed(world_a, client_for, open_pool, django_assert_max_num_queries):
    for i in range(60):
        pooled(world_a, f"批量公海{i}", f"1380013{i:04d}", f"b{i}@x.test")
    c = client_for(world_a.rep1)
    with django_assert_max_num_queries(15):
        r = c.get(reverse("pool:list"))
    assert len(r.context["customers"]) == 50


@pytest.mark.django_db
def test_pool_customers_never_reach_an_export(world_a, client_for, open_pool):
    pooled(world_a, "导出不到的公司", "13800138099", "hidden@example.test")
    customer_create(
        acting_user=world_a.rep1, data={"name": "可导出的公司"}, contact={"name": "甲", "mobile": "13800138098"}
    )
    r = client_for(world_a.admin).post(reverse("customers:export"), {"format": "csv"})
    body = b"".join(r.streaming_content).decode("utf-8-sig") if r.streaming else r.content.decode()
    assert "可导出的公司" in body
    assert "导出不到的公司" not in body and "13800138099" not in body and "hidden@example.test" not in body


@pytest.mark.django_db
def test_admin_moves_customers_between_pools(world_a, world_b, client_for):
    other = Pool.objects.create(tenant=world_a.tenant, name="大客户池")
    mine = customer_create(acting_user=world_a.rep1, data={"name": "换池公司"})
    theirs = customer_create(acting_user=world_b.rep1, data={"name": "别家换池"})
    c = client_for(world_a.admin)
    r = c.post(reverse("customers:move_pool"), {"ids": f"{mine.pk},{theirs.pk}", "pool": other.pk})
    assert r.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.pool == other and theirs.pool != other
    assert OwnershipEvent.objects.filter(customer=mine, to_pool=other).exists()
    b_pool = default_pool(world_b.tenant)
    r = c.post(reverse("customers:move_pool"), {"ids": str(mine.pk), "pool": b_pool.pk})
    assert r.status_code == 422
    assert client_for(world_a.manager).get(reverse("customers:move_pool")).status_code == 403


@pytest.mark.django_db
def test_extension_request_goes_back_only_within_this_site(world_a, client_for, django_capture_on_commit_callbacks):
    customer = customer_create(acting_user=world_a.rep1, data={"name": "想延期"})
    rep = client_for(world_a.rep1)
    url = reverse("pool:extension_request", args=[customer.pk])
    with django_capture_on_commit_callbacks(execute=False):
        r = rep.post(url, {"reason": "下周签约", "next": "https://evil.example/phish"})
    assert r.status_code == 302 and r.url == reverse("pool:at_risk")
    r = rep.post(url, {"reason": "again", "next": "//evil.example/phish"})
    assert r.url == reverse("pool:at_risk")
    r = rep.post(url, {"reason": "again", "next": reverse("customers:detail", args=[customer.pk])})
    assert r.url == reverse("customers:detail", args=[customer.pk])


@pytest.mark.django_db
def test_the_extensions_page_runs_a_bounded_number_of_queries(
    world_a, client_for, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    with django_capture_on_commit_callbacks(execute=False):
        for i in range(15):
            customer = customer_create(acting_user=world_a.rep1, data={"name": f"延期客户{i}"})
            extension_request(acting_user=world_a.rep1, customer=customer, reason="下周签约")
    c = client_for(world_a.manager)
    with django_assert_max_num_queries(12):
        body = c.get(reverse("pool:extensions")).content.decode()
    assert body.count('data-testid="approve-') == 15
