"""Handing out leads: the picker says how many customers each rep holds against the company's cap, on the lead's
page and on the list's bulk hand-out, with one query for every rep's count."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.services.customer import customer_create
from sales.services.lead import lead_create


@pytest.mark.django_db
def test_the_hand_out_picker_shows_holdings_against_the_cap(world_a, client_for):
    world_a.tenant.max_customers_per_rep = 2
    world_a.tenant.save(update_fields=["max_customers_per_rep"])
    world_a.manager.language = "en"
    world_a.manager.save(update_fields=["language"])
    for name in ("云帆科技", "星河贸易"):
        customer_create(acting_user=world_a.rep1, data={"name": name})
    customer_create(acting_user=world_a.rep2, data={"name": "海纳物流"})
    lead = lead_create(acting_user=world_a.manager, data={"name": "王先生", "phone": "13812345678"}, owner=None)
    c = client_for(world_a.manager)
    for url in (reverse("sales:lead_detail", args=[lead.pk]), reverse("sales:lead_list")):
        page = c.get(url).content.decode()
        rep1, rep2 = world_a.rep1.full_name, world_a.rep2.full_name
        assert f"{rep1} — holds 2 of 2 (full)" in page, url
        assert f"{rep2} — holds 1 of 2" in page, url
