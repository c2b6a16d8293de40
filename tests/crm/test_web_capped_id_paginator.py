"""CappedIdPaginator: the count and every page from one read of the first COUNT_CAP + 1 ids."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import web
from crm.models import User
from crm.web import CappedIdPaginator


def users_of(world):
    return User.objects.filter(tenant=world.tenant).order_by("pk").values_list("pk", flat=True)


@pytest.mark.django_db
def test_count_and_pages_come_from_one_query(world_a):
    ids = list(users_of(world_a))
    assert len(ids) >= 5
    paginator = CappedIdPaginator(users_of(world_a), 2)
    with CaptureQueriesContext(connection) as captured:
        count = paginator.count
        pages = [list(paginator.page(n)) for n in range(1, paginator.num_pages + 1)]
    assert len(captured) == 1
    assert count == len(ids) and not paginator.capped
    assert pages == [ids[i : i + 2] for i in range(0, len(ids), 2)]


@pytest.mark.django_db
def test_above_the_cap_the_count_is_capped_and_the_last_page_ends_at_it(world_a, monkeypatch):
    monkeypatch.setattr(web, "COUNT_CAP", 3)
    ids = list(users_of(world_a))
    paginator = CappedIdPaginator(users_of(world_a), 2)
    assert paginator.count == 4 and paginator.capped
    assert paginator.num_pages == 2
    assert list(paginator.get_page(2)) == ids[2:4]
    # A page past the cap is the last page, as with CappedPaginator.
    assert paginator.get_page(9).number == 2
