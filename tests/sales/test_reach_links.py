"""Every phone a tel: link and every email a mailto: link: the lead list (phone width and desktop cells) and the
customer page's contacts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .funnel import make_lead
from .helpers import make_customer

pytestmark = pytest.mark.django_db


def test_lead_list_links_phones_and_emails(world_a, client_for):
    make_lead(world_a.rep1, "有电话", phone="13811112222")
    make_lead(world_a.rep1, "有邮箱", email="lead@example.test")
    body = client_for(world_a.rep1).get(reverse("sales:lead_list")).content.decode()
    assert 'href="tel:+8613811112222"' in body and 'href="mailto:lead@example.test"' in body


def test_customer_page_links_its_contacts(world_a, client_for):
    customer = make_customer(world_a.rep1, "链接客户", mobile="13822223333")
    body = client_for(world_a.rep1).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'href="tel:+8613822223333"' in body
    # A colleague who sees the customer masked gets no number to dial.
    body = client_for(world_a.manager).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "tel:+8613822223333" not in body
