"""The pool page says how many claims are left today per pool ("3 of 10 left today"), keeps saying it after a
claim (out-of-band swap), and disables the claim buttons of a pool with none left; after a claim the row shows
the phone as a tel: link."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.selectors.pool import claims_left
from customers.services.pool import customer_claim

from .test_pool_views import open_pool, pooled  # noqa: F401  (open_pool is a fixture)

pytestmark = pytest.mark.django_db


def test_claims_left_count_and_buttons(world_a, client_for, open_pool, django_assert_max_num_queries):  # noqa: F811
    open_pool.max_claims_per_day = 2
    open_pool.save(update_fields=["max_claims_per_day"])
    for user in (world_a.rep1, world_a.rep2):
        user.language = "en"
        user.save(update_fields=["language"])
    customers = [pooled(world_a, f"领取{i}", f"1380014{i:04d}", f"c{i}@x.test") for i in range(4)]
    c = client_for(world_a.rep1)
    with django_assert_max_num_queries(16):
        body = c.get(reverse("pool:list")).content.decode()
    assert f'data-testid="claims-left-{open_pool.pk}"' in body and "2 of 2" in body
    r = c.post(reverse("pool:claim", args=[customers[0].pk]), HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert 'data-testid="claim-ok"' in body and 'href="tel:+8613800140000"' in body
    assert 'id="claims-left"' in body and 'hx-swap-oob="true"' in body and "1 of 2" in body
    customer_claim(rep=world_a.rep1, customer_id=customers[1].pk)
    (left,) = claims_left(world_a.rep1, [open_pool])
    assert (left.used, left.left) == (2, 0)
    body = c.get(reverse("pool:list")).content.decode()
    assert "0 of 2" in body
    button = body.split(f'data-testid="claim-{customers[2].pk}"')[0].rsplit("<button", 1)[1]
    assert "disabled" in button
    # A colleague's claims are their own.
    body = client_for(world_a.rep2).get(reverse("pool:list")).content.decode()
    assert "2 of 2" in body


def test_no_limit_no_counter(world_a, client_for, open_pool):  # noqa: F811
    pooled(world_a, "无上限")
    body = client_for(world_a.rep1).get(reverse("pool:list")).content.decode()
    assert 'data-testid="claims-left-' not in body
