"""Daily view quotas per role and per team: the tightest limit that applies (role, team and sub-teams, the pool's
own) decides; re-opening the same customer counts once; the quota left shows before any click; two openings at
once at the edge cannot both pass; admins set quotas in the settings, audited; other tenants get 404."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from crm.errors import DomainError
from crm.models import AuditEvent
from customers.models import Pool, PoolTeam, PoolView, ViewQuota
from customers.selectors.view_quota import quotas_for, views_left
from customers.services.customer import customer_create
from customers.services.pool import ClaimRefused, record_pool_view
from customers.services.tenant import default_pool
from customers.services.view_quota import view_quota_save

from ..conftest import build_world


def open_pool(world) -> Pool:
    pool = default_pool(world.tenant)
    PoolTeam.objects.get_or_create(tenant=world.tenant, pool=pool, team=world.sales)
    return pool


def pooled(world, n, prefix="公海客户"):
    pool = open_pool(world)
    return [
        customer_create(acting_user=world.admin, data={"name": f"{prefix}{i}"}, owner=None, to_pool=pool)
        for i in range(n)
    ]


@pytest.mark.django_db
def test_the_tightest_quota_applies_and_reopening_counts_once(world_a):
    customers = pooled(world_a, 4)
    ViewQuota.objects.create(tenant=world_a.tenant, role="rep", daily_limit=3)
    # The team above rep1's (sales) limits its sub-teams too: tighter than the role's.
    ViewQuota.objects.create(tenant=world_a.tenant, team=world_a.sales, daily_limit=2)
    assert [q.daily_limit for q in quotas_for(world_a.rep1)] == [2, 3]
    assert record_pool_view(user=world_a.rep1, customer=customers[0]) == 1
    assert record_pool_view(user=world_a.rep1, customer=customers[0]) == 1  # the same one again: counted once
    assert record_pool_view(user=world_a.rep1, customer=customers[1]) == 0
    with pytest.raises(ClaimRefused, match="daily quota"):
        record_pool_view(user=world_a.rep1, customer=customers[2])
    assert PoolView.objects.filter(user=world_a.rep1).count() == 2
    # The manager holds no rep role; the quota of the team they belong to (sales) applies.
    assert [q.daily_limit for q in quotas_for(world_a.manager)] == [2]


@pytest.mark.django_db
def test_a_pool_limit_tighter_than_the_quota_still_counts_its_own(world_a):
    pool = open_pool(world_a)
    pool.daily_view_limit = 1
    pool.save()
    customers = pooled(world_a, 3)
    ViewQuota.objects.create(tenant=world_a.tenant, role="rep", daily_limit=5)
    assert record_pool_view(user=world_a.rep1, customer=customers[0]) == 0
    with pytest.raises(ClaimRefused, match="this pool allows"):
        record_pool_view(user=world_a.rep1, customer=customers[1])
    left = views_left(world_a.rep1, [pool])
    assert left.person.left == 4 and left.left_in(pool) == 0


@pytest.mark.django_db
def test_the_pool_list_shows_the_quota_left_before_any_click(world_a, client_for, django_assert_max_num_queries):
    customers = pooled(world_a, 30)
    ViewQuota.objects.create(tenant=world_a.tenant, team=world_a.team1, daily_limit=20)
    record_pool_view(user=world_a.rep1, customer=customers[0])
    c = client_for(world_a.rep1)
    with django_assert_max_num_queries(25):
        html = c.get(reverse("pool:list")).content.decode()
    assert 'data-testid="views-left-person"' in html and "19" in html
    page = c.get(reverse("pool:customer", args=[customers[1].pk])).content.decode()
    assert 'data-testid="views-left-here"' in page
    # rep2's team has no quota: nothing shown.
    assert 'data-testid="views-left-person"' not in client_for(world_a.rep2).get(reverse("pool:list")).content.decode()


@pytest.mark.django_db
def test_admins_set_quotas_in_the_settings_audited(world_a, world_b, client_for):
    admin = client_for(world_a.admin)
    url = reverse("pool_settings:view_quotas")
    assert admin.get(url).status_code == 200
    assert admin.post(url, {"role": "", "team": "", "daily_limit": "20"}).status_code == 422
    assert admin.post(url, {"role": "rep", "team": world_a.team1.pk, "daily_limit": "20"}).status_code == 422
    response = admin.post(url, {"role": "", "team": world_a.team1.pk, "daily_limit": "20"})
    assert response.status_code == 302
    quota = ViewQuota.objects.get(tenant=world_a.tenant)
    assert (quota.team_id, quota.daily_limit) == (world_a.team1.pk, 20)
    # One per team.
    assert admin.post(url, {"role": "", "team": world_a.team1.pk, "daily_limit": "5"}).status_code == 422
    edit = reverse("pool_settings:view_quota_edit", args=[quota.pk])
    assert admin.post(edit, {"role": "", "team": world_a.team1.pk, "daily_limit": "15"}).status_code == 302
    quota.refresh_from_db()
    assert quota.daily_limit == 15
    assert AuditEvent.objects.filter(action="view_quota.save", object_id=str(quota.pk)).count() == 2
    # A rep may not; another tenant's admin gets 404 for this quota and cannot pick this tenant's team.
    assert client_for(world_a.rep1).get(url).status_code in (302, 403, 404)
    outsider = client_for(world_b.admin)
    assert outsider.get(edit).status_code == 404
    assert outsider.post(reverse("pool_settings:view_quota_delete", args=[quota.pk])).status_code == 404
    assert (
        outsider.post(reverse("pool_settings:view_quotas"), {"team": world_a.team1.pk, "daily_limit": "1"}).status_code
        == 422
    )
    assert not ViewQuota.objects.filter(tenant=world_b.tenant).exists()
    assert admin.post(reverse("pool_settings:view_quota_delete", args=[quota.pk])).status_code == 302
    assert not ViewQuota.objects.filter(pk=quota.pk).exists()
    assert AuditEvent.objects.filter(action="view_quota.delete").count() == 1


@pytest.mark.django_db
def test_the_service_refuses_non_admins(world_a):
    with pytest.raises(DomainError, match="Only administrators"):
        view_quota_save(acting_user=world_a.manager, quota=None, role="rep", daily_limit=3)


@pytest.mark.django_db(transaction=True)
def test_two_openings_at_once_at_the_quota_edge_exactly_one_passes():
    world = build_world("Q")
    customers = pooled(world, 2 * 5 + 1, prefix="并发")
    quota = ViewQuota.objects.create(tenant=world.tenant, team=world.team1, daily_limit=1)
    for round_ in range(5):
        PoolView.objects.filter(user=world.rep1).delete()
        pair = customers[2 * round_ : 2 * round_ + 2]
        barrier = threading.Barrier(2)
        opened, refused = [], []

        def open_one(customer):
            try:
                barrier.wait()
                opened.append(record_pool_view(user=world.rep1, customer=customer))
            except ClaimRefused as exc:
                refused.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=open_one, args=(c,)) for c in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert (len(opened), len(refused)) == (1, 1), (opened, refused)
        assert PoolView.objects.filter(user=world.rep1).count() == quota.daily_limit
