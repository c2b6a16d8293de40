"""The contact list (/contacts/): the contacts of the customers the user may see, searched by name, phone and
email, filtered (custom fields of contacts too), sorted and paged in a fixed number of queries, phones and emails
masked outside one's own customers, each row linked to its customer."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.api.services.custom_field import custom_field_save
from customers.models import Contact, Customer
from customers.services.customer import customer_create

URL = reverse("contacts:list")


def make(user, name, contact, mobile="", email=""):
    return customer_create(
        acting_user=user, data={"name": name}, contact={"name": contact, "mobile": mobile, "email": email}
    )


def shown(response) -> list[str]:
    return [c.name for c in response.context["contacts"]]


@pytest.mark.django_db
def test_contacts_follow_their_customers_visibility(world_a, world_b, client_for):
    make(world_a.rep1, "一组客户", "张三", mobile="13812345678", email="zhang@example.com")
    make(world_a.rep2, "二组客户", "李四")
    make(world_b.rep1, "别家客户", "王五")
    assert shown(client_for(world_a.rep1).get(URL)) == ["张三"]
    assert sorted(shown(client_for(world_a.manager).get(URL))) == ["张三", "李四"]
    assert sorted(shown(client_for(world_a.admin).get(URL))) == ["张三", "李四"]
    assert shown(client_for(world_b.admin).get(URL)) == ["王五"]

    # Masked outside one's own customers; the link goes to the customer.
    page = client_for(world_a.manager).get(URL).content.decode()
    assert "13812345678" not in page and "138****5678" in page and "zhang@example.com" not in page
    customer = Customer.objects.get(name="一组客户")
    assert reverse("customers:detail", args=[customer.pk]) in page
    own = client_for(world_a.rep1).get(URL).content.decode()
    assert "tel:+8613812345678" in own and "zhang@example.com" in own


@pytest.mark.django_db
def test_search_filters_and_sort(world_a, world_b, client_for):
    make(world_a.rep1, "云帆科技", "张三", mobile="13812345678", email="zhang@example.com")
    make(world_a.rep1, "海鸥贸易", "张小红", mobile="13900001111")
    make(world_a.rep1, "青山制造", "李四", email="li@example.com")
    c = client_for(world_a.rep1)
    assert sorted(shown(c.get(URL, {"q": "张"}))) == ["张三", "张小红"]
    assert shown(c.get(URL, {"q": "138 1234 5678"})) == ["张三"]
    assert shown(c.get(URL, {"q": "1111"})) == ["张小红"]
    assert shown(c.get(URL, {"q": "LI@example.com"})) == ["李四"]
    assert shown(c.get(URL, {"sort": "-name"})) == sorted(["张三", "张小红", "李四"], reverse=True)
    Contact.objects.filter(name="李四").update(marketing_consent=True)
    assert shown(c.get(URL, {"consent": "true"})) == ["李四"]

    # A custom field of contacts is a filter, as on the other lists.
    custom_field_save(
        acting_user=world_a.admin, kind="contact", key="role", label="角色", type="choice", choices=["决策人", "使用者"]
    )
    Contact.objects.filter(name="张三").update(custom={"role": "决策人"})
    page = c.get(URL, {"cf_role": "决策人"})
    assert shown(page) == ["张三"] and "cf_role" in page.context["filter"].form.fields

    # Another tenant's values find nothing of theirs, and another tenant's team is no valid choice.
    make(world_b.rep1, "别家", "张别家", mobile="13700002222")
    assert shown(c.get(URL, {"q": "13700002222"})) == []
    admin = client_for(world_a.admin)
    page = admin.get(URL, {"team": world_b.team1.pk})
    assert page.status_code == 200 and page.context["filter"].errors


@pytest.mark.django_db
def test_htmx_answers_the_results_partial(world_a, client_for):
    make(world_a.rep1, "云帆科技", "张三")
    r = client_for(world_a.rep1).get(URL, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "<html" not in r.content.decode() and "张三" in r.content.decode()
    assert "HX-Request" in r["Vary"]


@pytest.mark.django_db
def test_menu_has_contacts_next_to_customers(world_a, client_for):
    page = client_for(world_a.rep1).get(reverse("customers:list")).content.decode()
    assert f'href="{URL}"' in page
    assert page.index(f'href="{reverse("customers:list")}"') < page.index(f'href="{URL}"')


@pytest.mark.django_db
def test_queries_do_not_grow_with_the_rows(world_a, client_for, django_assert_max_num_queries):
    customer = make(world_a.rep1, "云帆科技", "主联系人", mobile="13800000000")

    def queries(user, rows) -> int:
        Contact.objects.filter(customer=customer, is_primary=False).delete()
        Contact.objects.bulk_create(
            Contact(tenant=world_a.tenant, customer=customer, name=f"联系人{i:03d}", mobile=f"+86139{i:08d}")
            for i in range(rows - 1)
        )
        c = client_for(user)
        c.get(URL)  # warm the session and the caches
        with CaptureQueriesContext(connection) as ctx:
            response = c.get(URL)
        assert len(response.context["contacts"]) == rows
        return len(ctx.captured_queries)

    for user in (world_a.rep1, world_a.manager):
        small, large = queries(user, 5), queries(user, 50)
        assert small == large and large <= 12, (small, large)


@pytest.mark.django_db
def test_a_saved_view_of_the_contact_list(world_a, client_for):
    make(world_a.rep1, "云帆科技", "张三")
    c = client_for(world_a.rep1)
    r = c.post(
        reverse("savedviews:save"), {"list_name": "contacts:list", "name": "我的主要联系人", "query": "primary=true"}
    )
    assert r.status_code == 302
    assert "我的主要联系人" in c.get(URL).content.decode()
