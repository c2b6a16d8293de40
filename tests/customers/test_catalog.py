"""Settings → Customer levels and tags: admins add, change and remove them; a level in use or a tag an assignment
rule needs stays; other tenants' ids are 404; only admins."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import Customer, CustomerLevel, Tag
from customers.services.customer import customer_create
from customers.services.level import level_save
from customers.services.tag import tag_save


@pytest.fixture(autouse=True)
def admins_read_english(world_a):
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])


@pytest.mark.django_db
def test_admin_adds_a_level_and_a_tag(world_a, client_for):
    c = client_for(world_a.admin)
    r = c.post(
        reverse("customer_catalog"),
        {"level-code": "S", "level-name": "战略客户", "level-aliases": "战略，VIP", "level-order": "0"},
    )
    assert r.status_code == 302
    level = CustomerLevel.objects.get(tenant=world_a.tenant, code="S")
    assert (level.name, level.aliases) == ("战略客户", ["战略", "VIP"])
    assert c.post(reverse("customer_catalog"), {"tag-name": "展会", "tag-color": "success"}).status_code == 302
    assert Tag.objects.get(tenant=world_a.tenant, name="展会").color == "success"
    body = c.get(reverse("customer_catalog")).content.decode()
    assert "战略客户" in body and "展会" in body


@pytest.mark.django_db
def test_duplicates_are_refused_with_a_clear_error(world_a, client_for):
    level_save(acting_user=world_a.admin, code="S", name="战略", aliases=["VIP"])
    c = client_for(world_a.admin)
    r = c.post(reverse("customer_catalog"), {"level-code": "s", "level-name": "x"})
    assert r.status_code == 422 and "Another level has the code s." in r.content.decode()
    r = c.post(reverse("customer_catalog"), {"level-code": "T", "level-aliases": "VIP"})
    assert r.status_code == 422 and "An alias is already one of" in r.content.decode()
    tag_save(acting_user=world_a.admin, name="展会")
    r = c.post(reverse("customer_catalog"), {"tag-name": "展会", "tag-color": "info"})
    assert r.status_code == 422 and "There is already a tag 展会." in r.content.decode()
    assert CustomerLevel.objects.filter(tenant=world_a.tenant, code__iexact="t").count() == 0


@pytest.mark.django_db
def test_a_level_in_use_stays(world_a, client_for):
    level = level_save(acting_user=world_a.admin, code="S", name="战略")
    customer_create(acting_user=world_a.rep1, data={"name": "云帆科技", "level": level}, contact={"name": "李"})
    c = client_for(world_a.admin)
    r = c.post(reverse("level_delete", args=[level.pk]), follow=True)
    assert "1 customers have this level" in r.content.decode()
    assert CustomerLevel.objects.filter(pk=level.pk).exists()
    Customer.objects.filter(tenant=world_a.tenant).update(level=None)
    c.post(reverse("level_delete", args=[level.pk]))
    assert not CustomerLevel.objects.filter(pk=level.pk).exists()


@pytest.mark.django_db
def test_edit_a_tag(world_a, client_for):
    tag = tag_save(acting_user=world_a.admin, name="展会")
    c = client_for(world_a.admin)
    assert c.post(reverse("tag_edit", args=[tag.pk]), {"name": "展会2026", "color": "danger"}).status_code == 302
    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("展会2026", "danger")
    c.post(reverse("tag_delete", args=[tag.pk]))
    assert not Tag.objects.filter(pk=tag.pk).exists()


@pytest.mark.django_db
def test_other_tenants_and_non_admins(world_a, world_b, client_for):
    level_b = level_save(acting_user=world_b.admin, code="S", name="B 战略")
    tag_b = tag_save(acting_user=world_b.admin, name="B 展会")
    c = client_for(world_a.admin)
    for name, pk in (("level_edit", level_b.pk), ("level_delete", level_b.pk), ("tag_edit", tag_b.pk)):
        assert c.post(reverse(name, args=[pk]), {"name": "x", "code": "x", "color": "info"}).status_code == 404
    assert c.post(reverse("tag_delete", args=[tag_b.pk])).status_code == 404
    assert Tag.objects.filter(pk=tag_b.pk, name="B 展会").exists()
    assert "B 战略" not in c.get(reverse("customer_catalog")).content.decode()
    level_a = level_save(acting_user=world_a.admin, code="S", name="战略")
    for user in (world_a.manager, world_a.rep1):
        assert client_for(user).get(reverse("customer_catalog")).status_code == 403
        assert client_for(user).get(reverse("level_edit", args=[level_a.pk])).status_code == 403


@pytest.mark.django_db
def test_the_page_queries_stay_bounded(world_a, client_for, django_assert_max_num_queries):
    for i in range(5):
        level_save(acting_user=world_a.admin, code=f"L{i}", name=f"等级{i}")
        tag_save(acting_user=world_a.admin, name=f"标签{i}")
    c = client_for(world_a.admin)
    with django_assert_max_num_queries(12):
        assert c.get(reverse("customer_catalog")).status_code == 200
