"""Personal data (个人信息保护法): phones and emails masked outside one's own customers until revealed, each reveal
logged and capped per day; exports on record; a contact's data downloaded and erased on request."""

import csv
import io
import json

import pytest
from django.urls import reverse

from crm.models import AuditEvent
from customers.models import Contact, CustomerIdentifier, PersonalDataReveal
from customers.services.customer import customer_create
from customers.services.privacy import RevealRefused, personal_data_reveal
from sales.models import FollowUp
from sales.services.followup import followup_log

MOBILE = "13812345678"


@pytest.fixture
def rep_customer(world_a):
    world_a.tenant.language = "en"
    world_a.tenant.save()
    customer = customer_create(
        acting_user=world_a.rep1,
        data={"name": "杭州云帆科技有限公司"},
        contact={"name": "张伟", "mobile": MOBILE, "email": "zhangwei@yunfan.test"},
    )
    return customer, customer.contacts.get()


def reveal(client, customer, contact, field):
    return client.post(
        reverse("customers:contact_reveal", args=[customer.pk, contact.pk]), {"field": field}, HTTP_HX_REQUEST="true"
    )


@pytest.mark.django_db
def test_owner_sees_everything_others_see_masks_until_they_reveal(world_a, rep_customer, client_for):
    customer, contact = rep_customer
    detail = reverse("customers:detail", args=[customer.pk])
    own = client_for(world_a.rep1).get(detail).content.decode()
    assert "+86 138 1234 5678" in own and "zhangwei@yunfan.test" in own and "reveal-mobile" not in own

    manager = client_for(world_a.manager)
    for page in (detail, reverse("customers:list")):
        html = manager.get(page).content.decode()
        assert "138****5678" in html and "1234 5678" not in html and MOBILE not in html, page
        assert "zhangwei@yunfan.test" not in html
    assert "z***@yunfan.test" in manager.get(detail).content.decode()

    response = reveal(manager, customer, contact, "mobile")
    assert response.status_code == 200 and "+86 138 1234 5678" in response.content.decode()
    logged = PersonalDataReveal.objects.get()
    assert (logged.user, logged.customer, logged.contact, logged.field) == (
        world_a.manager,
        customer,
        contact,
        "mobile",
    )
    assert "49 reveals left today" in response.content.decode()
    # The owner's own views are not logged.
    reveal(client_for(world_a.rep1), customer, contact, "email")
    assert PersonalDataReveal.objects.count() == 1


@pytest.mark.django_db
def test_reveals_are_capped_per_user_per_day(world_a, rep_customer, client_for):
    customer, contact = rep_customer
    contact.phone = "057188886666"
    contact.save()
    world_a.tenant.daily_reveal_limit = 2
    world_a.tenant.save()
    manager = client_for(world_a.manager)
    assert "revealed-mobile" in reveal(manager, customer, contact, "mobile").content.decode()
    assert "revealed-email" in reveal(manager, customer, contact, "email").content.decode()
    refused = reveal(manager, customer, contact, "phone").content.decode()
    assert (
        "You have revealed 2 masked phones, emails and WeChat ids of customers and leads today, the most your "
        "company allows." in refused
    )
    assert "0571" not in refused
    # Revealing the same field again the same day does not count again, but it is logged again.
    assert "revealed-mobile" in reveal(manager, customer, contact, "mobile").content.decode()
    assert PersonalDataReveal.objects.filter(user=world_a.manager).count() == 3
    # Another user has their own cap.
    assert "revealed-phone" in reveal(client_for(world_a.admin), customer, contact, "phone").content.decode()


@pytest.mark.django_db
def test_opening_someone_elses_contact_form_counts_as_a_reveal(world_a, rep_customer, client_for):
    customer, contact = rep_customer
    world_a.tenant.daily_reveal_limit = 1
    world_a.tenant.save()
    edit = reverse("customers:contact_edit", args=[customer.pk, contact.pk])
    admin = client_for(world_a.admin)
    response = admin.get(edit)
    assert response.status_code == 302
    assert not PersonalDataReveal.objects.exists()
    world_a.tenant.daily_reveal_limit = 5
    world_a.tenant.save()
    assert admin.get(edit).status_code == 200
    assert set(PersonalDataReveal.objects.values_list("field", flat=True)) == {"mobile", "email"}


@pytest.mark.django_db
def test_a_reveal_over_the_cap_reveals_and_logs_nothing(world_a, rep_customer):
    customer, contact = rep_customer
    world_a.tenant.daily_reveal_limit = 1
    world_a.tenant.save()
    personal_data_reveal(user=world_a.manager, contact=contact, fields=["mobile"])
    with pytest.raises(RevealRefused):
        personal_data_reveal(user=world_a.manager, contact=contact, fields=["email"])
    assert PersonalDataReveal.objects.count() == 1


@pytest.mark.django_db
def test_search_by_more_digits_than_the_mask_shows_only_finds_own_customers(world_a, rep_customer, client_for):
    customer, _contact = rep_customer
    url = reverse("customers:list")
    manager = client_for(world_a.manager)
    assert customer.name in manager.get(url, {"q": "5678"}).content.decode()  # the digits the mask shows
    assert customer.name not in manager.get(url, {"q": "45678"}).content.decode()
    assert customer.name in manager.get(url, {"q": MOBILE}).content.decode()  # the whole number, held already
    assert customer.name in client_for(world_a.rep1).get(url, {"q": "45678"}).content.decode()


@pytest.mark.django_db
def test_admin_downloads_a_contacts_personal_data(world_a, rep_customer, client_for):
    customer, contact = rep_customer
    personal_data_reveal(user=world_a.manager, contact=contact, fields=["mobile"])
    url = reverse("customers:contact_personal_data", args=[customer.pk, contact.pk])
    assert client_for(world_a.manager).get(url).status_code == 403
    admin = client_for(world_a.admin)
    data = json.loads(admin.get(url, {"format": "json"}).content)
    assert data["name"] == "张伟" and data["mobile"] == "+8613812345678" and data["customer"] == customer.name
    assert [r["user"] for r in data["reveals"]] == [world_a.manager.full_name]
    response = admin.get(url, {"format": "csv"})
    assert response["Content-Disposition"].endswith('.csv"')
    rows = {r[0]: r[1] for r in list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]}
    assert rows["name"] == "张伟"
    assert AuditEvent.objects.filter(action="contact.personal_data_export", actor=world_a.admin).count() == 2


@pytest.mark.django_db
def test_erase_keeps_business_records_and_frees_the_number(world_a, rep_customer, client_for):
    customer, contact = rep_customer
    followup_log(acting_user=world_a.rep1, kind="call", content="约了下周拜访", customer=customer, contact=contact)
    url = reverse("customers:contact_erase", args=[customer.pk, contact.pk])
    assert client_for(world_a.manager).get(url).status_code == 403
    admin = client_for(world_a.admin)
    assert "This cannot be undone" in admin.get(url).content.decode()
    # The confirmation step: without it nothing changes.
    assert admin.post(url, {}).status_code == 422
    assert Contact.objects.get(pk=contact.pk).mobile == "+8613812345678"

    assert admin.post(url, {"confirm": "on"}).status_code == 302
    erased = Contact.objects.get(pk=contact.pk)
    assert erased.erased_at is not None and erased.name == "—"
    assert (erased.mobile, erased.email, erased.wechat, erased.notes, erased.birthday) == ("", "", "", "", None)
    assert FollowUp.objects.filter(contact=erased, customer=customer).count() == 1
    assert not CustomerIdentifier.objects.filter(customer=customer, kind__in=["phone", "email"]).exists()
    event = AuditEvent.objects.get(action="contact.erase")
    assert "张伟" not in json.dumps(event.details, ensure_ascii=False) and event.object_repr == "—"
    # The number no longer blocks anyone.
    customer_create(acting_user=world_a.rep2, data={"name": "另一家公司"}, contact={"name": "新人", "mobile": MOBILE})
    # Irreversible, and only once.
    assert "already erased" in admin.post(url, {"confirm": "on"}).content.decode()
    assert "Personal data erased" in admin.get(reverse("customers:detail", args=[customer.pk])).content.decode()


@pytest.mark.django_db
def test_privacy_log_for_admins_with_bounded_queries(world_a, rep_customer, client_for, django_assert_max_num_queries):
    customer, contact = rep_customer
    world_a.tenant.daily_reveal_limit = None  # no cap
    world_a.tenant.save()
    for i in range(60):
        extra = Contact.objects.create(
            tenant=world_a.tenant, customer=customer, name=f"联系人{i}", mobile=f"+86139000000{i:02d}"
        )
        personal_data_reveal(user=world_a.manager, contact=extra, fields=["mobile"])
    client_for(world_a.manager).post(reverse("customers:export"), {"format": "csv"})
    url = reverse("privacy_log")
    assert client_for(world_a.manager).get(url).status_code == 403
    admin = client_for(world_a.admin)
    with django_assert_max_num_queries(12):
        html = admin.get(url).content.decode()
    assert "联系人59" in html and world_a.manager.full_name in html
    exports = admin.get(url, {"tab": "exports"}).content.decode()
    assert "Customer list (CSV)" in exports
    assert admin.get(url, {"tab": "nonsense", "page": "\x00"}).status_code == 200


@pytest.mark.django_db
def test_another_tenants_ids_answer_404(world_a, world_b, rep_customer, client_for):
    customer, contact = rep_customer
    outsider = client_for(world_b.admin)
    for name in ("customers:contact_reveal", "customers:contact_personal_data", "customers:contact_erase"):
        url = reverse(name, args=[customer.pk, contact.pk])
        assert outsider.get(url).status_code in (404, 405)
        assert outsider.post(url, {"field": "mobile", "confirm": "on"}).status_code in (404, 405)
    assert Contact.objects.get(pk=contact.pk).erased_at is None
    assert not PersonalDataReveal.objects.exists()


@pytest.mark.django_db
def test_whole_number_searches_on_others_customers_are_rate_limited_per_user(
    world_a, rep_customer, client_for, settings, redis_test_db
):
    settings.EXACT_SEARCH_RATE = "2/h"
    customer, _contact = rep_customer
    url = reverse("customers:list")
    manager = client_for(world_a.manager)
    for _ in range(2):
        html = manager.get(url, {"q": MOBILE}).content.decode()
        assert customer.name in html and "exact-search-limited" not in html
    html = manager.get(url, {"q": MOBILE}).content.decode()
    assert customer.name not in html
    assert "For now such searches match only your own customers" in html
    html = manager.get(url, {"q": "zhangwei@yunfan.test"}).content.decode()
    assert customer.name not in html and "exact-search-limited" in html
    # Names and the masked tail still match; the owner and another user have their own count.
    assert customer.name in manager.get(url, {"q": "5678"}).content.decode()
    for user in (world_a.rep1, world_a.admin):
        html = client_for(user).get(url, {"q": MOBILE}).content.decode()
        assert customer.name in html and "exact-search-limited" not in html
    # The owner's searches of their own customers are never counted.
    for _ in range(3):
        assert customer.name in client_for(world_a.rep1).get(url, {"q": MOBILE}).content.decode()


@pytest.mark.django_db
def test_wechat_ids_are_masked_and_revealed_like_phones(world_a, rep_customer, client_for):
    customer, contact = rep_customer
    contact.wechat = "wx_zhangwei88"
    contact.save()
    detail = reverse("customers:detail", args=[customer.pk])
    assert "wx_zhangwei88" in client_for(world_a.rep1).get(detail).content.decode()
    manager = client_for(world_a.manager)
    html = manager.get(detail).content.decode()
    assert "wx_zhangwei88" not in html and "wx***88" in html and "reveal-wechat" in html
    response = reveal(manager, customer, contact, "wechat")
    assert "wx_zhangwei88" in response.content.decode()
    assert PersonalDataReveal.objects.get().field == "wechat"
