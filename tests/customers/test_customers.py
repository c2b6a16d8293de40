import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import get_perms

from crm.errors import DomainError
from crm.models import User
from customers.models import Contact, Customer, CustomerIdentifier, CustomerUserObjectPermission, OwnershipEvent
from customers.services.contact import contact_save
from customers.services.customer import customer_create, record_deal, record_follow_up
from customers.services.identifier import DuplicateCustomer
from customers.services.share import customer_share, customer_unshare
from customers.services.tenant import default_pool
from customers.services.trash import customer_restore, customer_trash


def make(user, name, mobile="", email="", **data):
    return customer_create(
        acting_user=user,
        data={"name": name, **data},
        contact={"name": f"{name}联系人", "mobile": mobile, "email": email},
    )


# --- visibility ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_visible_to_per_role(world_a, world_b):
    c1 = make(world_a.rep1, "一组客户", "13800000001")
    c2 = make(world_a.rep2, "二组客户", "13800000002")
    pooled = customer_create(
        acting_user=world_a.admin, data={"name": "公海客户"}, owner=None, to_pool=default_pool(world_a.tenant)
    )
    other = make(world_b.rep1, "别家客户", "13800000003")
    assert set(Customer.objects.visible_to(world_a.rep1)) == {c1}
    assert set(Customer.objects.visible_to(world_a.rep2)) == {c2}
    assert set(Customer.objects.visible_to(world_a.manager)) == {c1, c2}  # their team tree
    assert set(Customer.objects.visible_to(world_a.admin)) == {c1, c2}  # pool customers are not in it
    assert set(Customer.objects.visible_to(world_a.agent)) == set()
    assert pooled not in Customer.objects.visible_to(world_a.admin)
    assert other not in Customer.objects.visible_to(world_a.admin)
    assert not Customer.objects.visible_to(None).exists()


@pytest.mark.django_db
def test_visible_to_is_one_query(world_a, django_assert_num_queries):
    make(world_a.rep1, "一组客户", "13800000001")
    with django_assert_num_queries(1):
        list(Customer.objects.visible_to(world_a.manager))


@pytest.mark.django_db
def test_sharing_read_then_edit_then_unshare(world_a, client_for):
    customer = make(world_a.rep1, "共享客户", "13800000011")
    rep2 = client_for(world_a.rep2)
    assert rep2.get(reverse("customers:detail", args=[customer.pk])).status_code == 404
    customer_share(acting_user=world_a.rep1, customer=customer, with_user=world_a.rep2)
    assert customer in Customer.objects.visible_to(world_a.rep2)
    assert [c.pk for c in rep2.get(reverse("customers:list")).context["customers"]] == [customer.pk]
    assert rep2.get(reverse("customers:edit", args=[customer.pk])).status_code == 403
    customer_share(acting_user=world_a.rep1, customer=customer, with_user=world_a.rep2, can_change=True)
    assert rep2.get(reverse("customers:edit", args=[customer.pk])).status_code == 200
    customer_unshare(acting_user=world_a.rep1, customer=customer, with_user=world_a.rep2)
    assert customer not in Customer.objects.visible_to(world_a.rep2)


@pytest.mark.django_db
def test_a_share_is_a_guardian_object_permission(world_a):
    customer = make(world_a.rep1, "权限客户", "13800000013")
    other = make(world_a.rep1, "没共享的客户", "13800000014")

    def perms(user, obj):
        # A fresh user object each time: Django and guardian cache permissions on the instance.
        user = User.objects.get(pk=user.pk)
        return user.has_perm("customers.view_customer", obj), user.has_perm("customers.change_customer", obj)

    assert perms(world_a.rep2, customer) == (False, False)
    customer_share(acting_user=world_a.rep1, customer=customer, with_user=world_a.rep2)
    assert perms(world_a.rep2, customer) == (True, False)
    customer_share(acting_user=world_a.rep1, customer=customer, with_user=world_a.rep2, can_change=True)
    assert perms(world_a.rep2, customer) == (True, True)
    assert perms(world_a.rep2, other) == (False, False)
    assert set(get_perms(world_a.rep2, customer)) == {"change_customer", "view_customer"}
    # The rows carry the customer's tenant, and visible_to/editable_by read them.
    assert set(
        CustomerUserObjectPermission.objects.filter(content_object=customer).values_list("tenant", flat=True)
    ) == {world_a.tenant.pk}
    assert customer in Customer.objects.editable_by(world_a.rep2)
    # Back to read only, then nothing.
    customer_share(acting_user=world_a.rep1, customer=customer, with_user=world_a.rep2)
    assert perms(world_a.rep2, customer) == (True, False)
    customer_unshare(acting_user=world_a.rep1, customer=customer, with_user=world_a.rep2)
    assert perms(world_a.rep2, customer) == (False, False)
    assert not CustomerUserObjectPermission.objects.filter(content_object=customer).exists()


@pytest.mark.django_db
def test_only_owner_manager_or_admin_share(world_a, world_b):
    customer = make(world_a.rep1, "客户甲", "13800000012")
    with pytest.raises(PermissionDenied):
        customer_share(acting_user=world_a.rep2, customer=customer, with_user=world_a.agent)
    with pytest.raises(DomainError):
        customer_share(acting_user=world_a.rep1, customer=customer, with_user=world_b.rep1)


# --- duplicates (防撞单) ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_duplicate_company_phone_email_and_code_refused_with_holder(world_a):
    make(world_a.rep1, "杭州云帆科技有限公司", "138-1234-5678", "Zs@YunFan.test", credit_code="91330100MA27XY8K1A")
    cases = [
        ({"name": "杭州云帆科技 "}, {}),
        ({"name": "别的公司"}, {"mobile": "+86 １３８１２３４５６７８"}),
        ({"name": "别的公司二"}, {"email": "zs@yunfan.TEST"}),
        ({"name": "别的公司三", "credit_code": "91330100ma27xy8k1a"}, {}),
    ]
    for data, contact in cases:
        with pytest.raises(DuplicateCustomer) as exc:
            customer_create(acting_user=world_a.rep2, data=data, contact={"name": "李四", **contact})
        # rep2 may not see rep1's customer: told who holds it, not its name.
        assert world_a.rep1.full_name in exc.value.message
        assert "杭州云帆科技有限公司" not in exc.value.message
    assert Customer.objects.filter(tenant=world_a.tenant).count() == 1
    # The manager may see it, so the message names it.
    with pytest.raises(DuplicateCustomer) as exc:
        make(world_a.manager, "杭州云帆科技有限公司")
    assert "杭州云帆科技有限公司" in exc.value.message


@pytest.mark.django_db
def test_duplicate_in_pool_names_the_pool(world_a):
    pool = default_pool(world_a.tenant)
    customer_create(acting_user=world_a.admin, data={"name": "公海里的公司"}, owner=None, to_pool=pool)
    with pytest.raises(DuplicateCustomer) as exc:
        make(world_a.rep1, "公海里的公司")
    assert pool.name in exc.value.message


@pytest.mark.django_db
def test_same_company_in_another_tenant_is_fine(world_a, world_b):
    make(world_a.rep1, "同名公司", "13800000021")
    make(world_b.rep1, "同名公司", "13800000021")
    assert Customer.objects.filter(name="同名公司").count() == 2


@pytest.mark.django_db
def test_contact_phone_taken_by_another_customer_is_refused(world_a):
    make(world_a.rep1, "公司一", "13800000031")
    second = make(world_a.rep1, "公司二", "13800000032")
    with pytest.raises(DuplicateCustomer):
        contact_save(acting_user=world_a.rep1, customer=second, data={"name": "王五", "mobile": "13800000031"})
    assert Contact.objects.filter(customer=second).count() == 1


@pytest.mark.django_db
def test_restore_rechecks_identifiers(world_a):
    first = make(world_a.rep1, "回收站公司", "13800000041")
    customer_trash(acting_user=world_a.rep1, customer=first)
    assert not CustomerIdentifier.objects.filter(customer=first).exists()
    make(world_a.rep2, "回收站公司", "13800000042")  # the name is free again
    with pytest.raises(DuplicateCustomer):
        customer_restore(acting_user=world_a.rep1, customer=first)
    first.refresh_from_db()
    assert first.deleted_at is not None


@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_of_the_same_company_cannot_both_succeed():
    from ..conftest import build_world

    world = build_world("C")
    for round_ in range(8):
        barrier = threading.Barrier(2)
        outcomes = []

        def create(user, mobile, round_=round_):
            try:
                barrier.wait()
                make(user, f"并发公司{round_}", mobile)
                outcomes.append("ok")
            except DuplicateCustomer:
                outcomes.append("dup")
            finally:
                connection.close()

        threads = [
            threading.Thread(target=create, args=(world.rep1, f"1380000{round_:02d}51")),
            threading.Thread(target=create, args=(world.rep2, f"1380000{round_:02d}52")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["dup", "ok"], outcomes
        assert Customer.objects.filter(name=f"并发公司{round_}").count() == 1


# --- pages ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_page_and_duplicate_refusal_on_the_form(world_a, client_for):
    c = client_for(world_a.rep1)
    data = {
        "kind": "company",
        "name": "新建公司",
        "status": "potential",
        "contact_name": "赵六",
        "contact_mobile": "139 1234 5678",
    }
    r = c.post(reverse("customers:create"), data)
    assert r.status_code == 302
    customer = Customer.objects.get(name="新建公司")
    assert customer.owner == world_a.rep1
    assert Contact.objects.get(customer=customer).mobile == "+8613912345678"
    assert OwnershipEvent.objects.filter(customer=customer, reason="create").count() == 1
    r = client_for(world_a.rep2).post(reverse("customers:create"), {**data, "name": "另一家"})
    assert r.status_code == 422
    assert "contact_mobile" in r.context["form"].errors
    assert not Customer.objects.filter(name="另一家").exists()


@pytest.mark.django_db
def test_bad_input_gets_clear_errors_and_saves_nothing(world_a, client_for):
    c = client_for(world_a.rep1)
    r = c.post(
        reverse("customers:create"),
        {
            "kind": "company",
            "name": "",
            "status": "nope",
            "credit_code": "123",
            "contact_mobile": "12345",
            "contact_email": "a@b",
        },
    )
    assert r.status_code == 422
    errors = r.context["form"].errors
    assert {"name", "status", "credit_code", "contact_email", "contact_name"} <= set(errors)
    r = c.post(
        reverse("customers:create"),
        {
            "kind": "company",
            "name": "坏电话公司",
            "status": "potential",
            "contact_name": "甲",
            "contact_mobile": "12345",
        },
    )
    assert r.status_code == 422 and "contact_mobile" in r.context["form"].errors
    assert not Customer.objects.filter(tenant=world_a.tenant).exists()


@pytest.mark.django_db
def test_detail_edit_contacts_and_audit(world_a, client_for):
    customer = make(world_a.rep1, "详情公司", "13800000061")
    c = client_for(world_a.rep1)
    r = c.get(reverse("customers:detail", args=[customer.pk]))
    assert r.status_code == 200
    assert "ownership" in [p["panel"].key for p in r.context["panels"]]
    r = c.post(
        reverse("customers:edit", args=[customer.pk]),
        {"kind": "company", "name": "详情公司（新）", "status": "customer", "industry": "教育"},
    )
    assert r.status_code == 302
    customer.refresh_from_db()
    assert customer.status == "customer" and customer.industry == "教育"
    r = c.post(
        reverse("customers:contact_create", args=[customer.pk]),
        {"name": "孙七", "mobile": "13800000062", "birthday": "1990-02-28", "is_primary": "on"},
    )
    assert r.status_code == 302
    assert Contact.objects.get(customer=customer, is_primary=True).name == "孙七"
    assert Contact.objects.filter(customer=customer).count() == 2
    r = c.post(reverse("customers:contact_create", args=[customer.pk]), {"name": "未来", "birthday": "2999-01-01"})
    assert r.status_code == 422


@pytest.mark.django_db
def test_manager_transfers_many_with_reason(world_a, client_for):
    a = make(world_a.rep1, "转移一", "13800000071")
    b = make(world_a.rep1, "转移二", "13800000072")
    c = client_for(world_a.manager)
    r = c.post(reverse("customers:transfer"), {"ids": f"{a.pk},{b.pk}", "to_owner": world_a.rep2.pk, "reason": ""})
    assert r.status_code == 422
    r = c.post(
        reverse("customers:transfer"), {"ids": f"{a.pk},{b.pk}", "to_owner": world_a.rep2.pk, "reason": "离职交接"}
    )
    assert r.status_code == 302
    assert set(Customer.objects.filter(owner=world_a.rep2)) == {a, b}
    assert OwnershipEvent.objects.filter(reason="transfer", note="离职交接").count() == 2
    # Reps do not transfer.
    assert client_for(world_a.rep2).get(reverse("customers:transfer")).status_code == 403


@pytest.mark.django_db
def test_transfer_ignores_ids_of_other_tenants(world_a, world_b, client_for):
    theirs = make(world_b.rep1, "别家", "13800000081")
    r = client_for(world_a.admin).post(
        reverse("customers:transfer"), {"ids": str(theirs.pk), "to_owner": world_a.rep1.pk, "reason": "x"}
    )
    assert r.status_code in (200, 422)
    theirs.refresh_from_db()
    assert theirs.owner == world_b.rep1


@pytest.mark.django_db
def test_list_search_pinyin_phone_suffix_email_and_contact(world_a, client_for):
    make(world_a.rep1, "张三贸易有限公司", "13812345678", "boss@zhangsan.test")
    make(world_a.rep1, "李四科技有限公司", "13987654321", "li@lisi.test")
    c = client_for(world_a.rep1)

    def names(q):
        r = c.get(reverse("customers:list"), {"q": q})
        return {x.name for x in r.context["customers"]}

    assert names("zs") == {"张三贸易有限公司"}
    assert names("zhangsan") == {"张三贸易有限公司"}
    assert names("张三") == {"张三贸易有限公司"}
    assert names("5678") == {"张三贸易有限公司"}
    assert names("138 1234 5678") == {"张三贸易有限公司"}
    assert names("LI@lisi.test") == {"李四科技有限公司"}
    assert names("科技有限") == {"李四科技有限公司"}
    assert names("李四科技有限公司联系人") == {"李四科技有限公司"}


@pytest.mark.django_db
def test_list_filters_sort_and_htmx(world_a, client_for):
    make(world_a.rep1, "甲公司", "13800000091", industry="教育", region="浙江省")
    make(world_a.rep1, "乙公司", "13800000092", industry="金融", region="上海市")
    c = client_for(world_a.rep1)
    r = c.get(reverse("customers:list"), {"industry": "教育"}, HTTP_HX_REQUEST="true")
    assert {x.name for x in r.context["customers"]} == {"甲公司"}
    assert "<html" not in r.content.decode()
    assert "HX-Request" in r["Vary"]
    r = c.get(reverse("customers:list"), {"sort": "name"})
    assert [x.name for x in r.context["customers"]] == sorted(["甲公司", "乙公司"])


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [50, 500])
def test_list_query_count_is_fixed(world_a, client_for, django_assert_max_num_queries, rows):
    pool = default_pool(world_a.tenant)
    objs = [
        Customer(tenant=world_a.tenant, name=f"批量{i}", owner=world_a.rep1, pool=pool, owned_since=None)
        for i in range(rows)
    ]
    Customer.objects.bulk_create(objs)
    Contact.objects.bulk_create(
        [Contact(tenant=world_a.tenant, customer=o, name=f"联系人{o.pk}", is_primary=True) for o in objs]
    )
    c = client_for(world_a.manager)
    # 12, the saved views menu (the views and, for a manager, the teams to share with) and the custom fields
    # that are list filters, the owner's-team filter's choices, the value lists of the region, industry and
    # source filters, the manager's owners and shares read before the list, and the page's ids before its rows.
    with django_assert_max_num_queries(19):
        r = c.get(reverse("customers:list"))
    assert len(r.context["customers"]) == 50


@pytest.mark.django_db
def test_cross_tenant_and_other_rep_get_404(world_a, world_b, client_for):
    customer = make(world_a.rep1, "私有公司", "13800000101")
    for user in (world_b.admin, world_a.rep2, world_a.agent):
        assert client_for(user).get(reverse("customers:detail", args=[customer.pk])).status_code == 404


@pytest.mark.django_db
def test_text_is_escaped_everywhere(world_a, client_for):
    payload = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    customer = customer_create(
        acting_user=world_a.rep1,
        data={"name": f"XSS{payload}", "notes": payload, "address": payload, "industry": "教育"},
        contact={"name": f"联系人{payload}", "mobile": "13800000111"},
    )
    c = client_for(world_a.rep1)
    for url in [
        reverse("customers:list"),
        reverse("customers:detail", args=[customer.pk]),
        reverse("customers:edit", args=[customer.pk]),
        reverse("home"),
    ]:
        body = c.get(url).content.decode()
        assert "<script>alert(2)" not in body and "<img src=x" not in body, url


@pytest.mark.django_db
def test_home_widget_for_rep(world_a, client_for):
    make(world_a.rep1, "首页公司", "13800000121")
    r = client_for(world_a.rep1).get(reverse("home"))
    assert "首页公司" in r.content.decode()


@pytest.mark.django_db
def test_anonymous_is_sent_to_login():
    r = Client().get(reverse("customers:list"))
    assert r.status_code == 302 and reverse("login") in r["Location"]


@pytest.mark.django_db
def test_edit_in_place_with_htmx(world_a, client_for):
    customer = make(world_a.rep1, "就地编辑公司", "13800000131")
    c = client_for(world_a.rep1)
    url = reverse("customers:edit", args=[customer.pk])
    r = c.get(url, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "<html" not in r.content.decode() and "hx-post" in r.content.decode()
    r = c.post(url, {"kind": "company", "name": "", "status": "potential"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 422 and "<html" not in r.content.decode()
    r = c.post(
        url,
        {"kind": "company", "name": "就地编辑公司", "status": "customer", "region": "浙江省"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200 and "浙江省" in r.content.decode()
    customer.refresh_from_db()
    assert customer.region == "浙江省"


@pytest.mark.django_db
def test_record_follow_up_and_deal_only_move_forward(world_a):
    from datetime import timedelta

    from django.utils import timezone

    customer = make(world_a.rep1, "事实公司", "13800000141")
    now = timezone.now()
    record_follow_up(customer_id=customer.pk, at=now, tenant_id=world_a.tenant.pk)
    record_follow_up(customer_id=customer.pk, at=now - timedelta(days=3), tenant_id=world_a.tenant.pk)
    record_deal(customer_id=customer.pk, at=now - timedelta(days=1), tenant_id=world_a.tenant.pk)
    customer.refresh_from_db()
    assert customer.last_followed_up_at == now
    assert customer.last_deal_at == now - timedelta(days=1)
    # Another tenant's id changes nothing.
    record_follow_up(customer_id=customer.pk, at=now + timedelta(days=1), tenant_id=world_a.tenant.pk + 999)
    customer.refresh_from_db()
    assert customer.last_followed_up_at == now


@pytest.mark.django_db
def test_manager_lets_the_assignment_rules_choose_on_the_form(world_a, client_for, django_capture_on_commit_callbacks):
    c = client_for(world_a.manager)
    data = {"kind": "company", "name": "规则分配公司", "status": "potential", "assign_by_rules": "on"}
    with django_capture_on_commit_callbacks(execute=False):
        r = c.post(reverse("customers:create"), data)
    assert r.status_code == 302
    customer = Customer.objects.get(name="规则分配公司")
    # No rule matches yet: it waits in the pool instead of going to the manager.
    assert customer.owner is None
    r = c.post(reverse("customers:create"), {**data, "name": "两个都选", "owner": world_a.rep1.pk})
    assert r.status_code == 422 and "owner" in r.context["form"].errors
    # Reps do not get the choice.
    assert "assign_by_rules" not in client_for(world_a.rep1).get(reverse("customers:create")).context["form"].fields
