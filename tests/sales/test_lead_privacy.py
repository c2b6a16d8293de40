"""A lead's phone, email and WeChat id are masked outside the leads a user owns, as customers' are, until revealed;
each reveal goes to the one reveal log and counts against the one daily cap."""

import pytest
from django.urls import reverse

from customers.models import PersonalDataReveal
from customers.services.customer import customer_create
from customers.services.privacy import personal_data_reveal
from sales.models import Lead
from sales.services.lead_privacy import RevealRefused, lead_personal_data_reveal

from .funnel import make_lead

PHONE, EMAIL, WECHAT = "13812345678", "wang.fang@lead.test", "wx_wangfang88"


@pytest.fixture
def lead(world):
    return make_lead(world.rep1, "王芳", phone=PHONE, email=EMAIL, wechat=WECHAT)


def reveal(client, lead, field):
    return client.post(reverse("sales:lead_reveal", args=[lead.pk]), {"field": field}, HTTP_HX_REQUEST="true")


@pytest.mark.django_db
def test_the_owner_sees_a_lead_others_see_it_masked_until_they_reveal(world, lead, client_for):
    detail = reverse("sales:lead_detail", args=[lead.pk])
    own = client_for(world.rep1).get(detail).content.decode()
    assert "+86 138 1234 5678" in own and EMAIL in own and WECHAT in own and "reveal-phone" not in own

    manager = client_for(world.manager)
    for page in (detail, reverse("sales:lead_list")):
        html = manager.get(page).content.decode()
        assert "138****5678" in html, page
        assert "1234 5678" not in html and PHONE not in html and EMAIL not in html and WECHAT not in html, page
    html = manager.get(detail).content.decode()
    assert "w***@lead.test" in html and "wx***88" in html

    response = reveal(manager, lead, "wechat")
    assert response.status_code == 200 and WECHAT in response.content.decode()
    logged = PersonalDataReveal.objects.get()
    assert (logged.user, logged.lead_id, logged.field, logged.contact) == (world.manager, lead.pk, "wechat", None)
    # The owner's reveals are not logged.
    assert PHONE[-4:] in reveal(client_for(world.rep1), lead, "phone").content.decode()
    assert PersonalDataReveal.objects.count() == 1
    # The admins' privacy log lists it.
    log = client_for(world.admin).get(reverse("privacy_log"), {"tab": "reveals"}).content.decode()
    lead_url = reverse("sales:lead_detail", args=[lead.pk])
    assert f'<a href="{lead_url}">Lead #{lead.pk}</a>' in log
    # A lead the viewer may no longer see (here: gone) is named without a link.
    Lead.objects.filter(pk=lead.pk).delete()
    log = client_for(world.admin).get(reverse("privacy_log"), {"tab": "reveals"}).content.decode()
    assert f"Lead #{lead.pk}" in log and lead_url not in log


@pytest.mark.django_db
def test_leads_and_contacts_share_one_daily_cap(world, lead):
    world.tenant.daily_reveal_limit = 2
    world.tenant.save()
    customer = customer_create(
        acting_user=world.rep2, data={"name": "某公司"}, contact={"name": "李雷", "mobile": "13711112222"}
    )
    personal_data_reveal(user=world.manager, contact=customer.contacts.get(), fields=["mobile"])
    assert lead_personal_data_reveal(user=world.manager, lead=lead, fields=["email"]) == {"email": EMAIL}
    with pytest.raises(RevealRefused):
        lead_personal_data_reveal(user=world.manager, lead=lead, fields=["phone"])
    # The same field again the same day does not count again.
    assert lead_personal_data_reveal(user=world.manager, lead=lead, fields=["email"]) == {"email": EMAIL}
    assert PersonalDataReveal.objects.filter(user=world.manager).count() == 3


@pytest.mark.django_db
def test_opening_someone_elses_lead_form_counts_as_a_reveal(world, lead, client_for):
    world.tenant.daily_reveal_limit = 2
    world.tenant.save()
    edit = reverse("sales:lead_edit", args=[lead.pk])
    assert client_for(world.manager).get(edit).status_code == 302  # three fields over a cap of two
    assert not PersonalDataReveal.objects.exists()
    world.tenant.daily_reveal_limit = 5
    world.tenant.save()
    assert client_for(world.manager).get(edit).status_code == 200
    assert set(PersonalDataReveal.objects.values_list("field", flat=True)) == {"phone", "email", "wechat"}
    assert client_for(world.rep1).get(edit).status_code == 200
    assert PersonalDataReveal.objects.count() == 3


@pytest.mark.django_db
def test_another_tenants_lead_reveal_is_404(world, world_b, lead, client_for):
    assert reveal(client_for(world_b.admin), lead, "phone").status_code == 404
    assert not PersonalDataReveal.objects.exists()


def found(client, q):
    return client.get(reverse("sales:lead_list"), {"q": q}).content.decode()


@pytest.mark.django_db
def test_searching_others_leads_by_masked_values_is_limited(world, lead, client_for, settings, redis_test_db):
    settings.EXACT_SEARCH_RATE = "2/h"
    manager = client_for(world.manager)
    assert "王芳" in found(manager, "5678")  # the digits the mask shows
    assert "王芳" not in found(manager, "45678")  # one more: only one's own leads
    assert "王芳" in found(client_for(world.rep1), "45678")
    for _ in range(2):
        html = found(manager, PHONE)
        assert "王芳" in html and "exact-search-limited" not in html
    html = found(manager, EMAIL)
    assert "王芳" not in html and "For now such searches match only your own leads" in html
    for _ in range(3):
        assert "王芳" in found(client_for(world.rep1), PHONE)
