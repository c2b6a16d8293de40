"""The sales forms draw their fields with the one shared partial (templates/partials/form_field.html): the customer
picker where a form picks a customer, and the appointment's contacts as a box of checkboxes the picker refills."""

import pytest
from django.urls import reverse

from customers.models import Contact

from .helpers import in_english, make_customer


@pytest.mark.django_db
def test_appointment_form_has_the_customer_picker_and_the_contacts_box(world_a, client_for):
    in_english(world_a.rep1)
    c = client_for(world_a.rep1)
    body = c.get(reverse("sales:appointment_create"), {"date": "2030-01-02"}).content.decode()
    assert 'data-testid="customer-search"' in body and '"for": "appointment"' in body
    assert f'hx-get="{reverse("sales:contact_options")}"' in body
    # No customer yet: the box the picker refills says why it is empty.
    assert 'id="contacts-options" data-testid="contact-options"' in body
    assert "Link a customer to choose its contacts." in body

    customer = make_customer(world_a.rep1, "拜访客户")
    contact = Contact.objects.get(customer=customer)
    body = c.get(reverse("sales:appointment_create"), {"date": "2030-01-02", "customer": customer.pk}).content
    body = body.decode()
    assert 'id="contacts-options"' in body and f'value="{contact.pk}"' in body
    assert "Link a customer to choose its contacts." not in body


@pytest.mark.django_db
def test_task_and_order_forms_pick_their_customer(world_a, client_for):
    c = client_for(world_a.rep1)
    task = c.get(reverse("sales:task_create")).content.decode()
    assert 'data-testid="customer-search"' in task and '"for": ""' in task
    order = c.get(reverse("sales:order_create")).content.decode()
    assert 'data-testid="customer-search"' in order and '"for": "order"' in order
    # A plain field of the same forms keeps its label and widget.
    assert 'for="id_title"' in task and 'name="title"' in task
