"""The calendar: week and month views for a rep or a manager's team, a fixed number of queries for a team of 20,
and conflict detection when creating or moving an appointment (warn, then "save anyway")."""

import threading
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from crm.errors import DomainError
from crm.models import AuditEvent, Notification
from customers.models import Contact
from sales.models import Appointment, AppointmentAttendee
from sales.services.appointment import OverlapWarning, appointment_save

from ..conftest import build_world
from ..factories import TeamFactory, UserFactory
from .helpers import in_english, local, make_customer, make_task, queries_for


def slot(day_offset=1, hour=10, minutes=60):
    start = timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=day_offset), time(hour)))
    return start, start + timedelta(minutes=minutes)


def book(user, title="拜访", *, day=1, hour=10, minutes=60, attendees=(), confirm=False, **kw):
    start, end = slot(day, hour, minutes)
    return appointment_save(
        acting_user=user, title=title, start_at=start, end_at=end, attendees=attendees, confirm_overlap=confirm, **kw
    )


def form(title="客户拜访", day=1, hour=10, minutes=60, **extra):
    start, end = slot(day, hour, minutes)
    data = {"title": title, "start_at": local(start), "end_at": local(end), "place": "客户公司", "notes": ""}
    data.update(extra)
    return data


# --- conflict detection --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_overlap_warns_and_saves_nothing_until_confirmed(world_a, client_for):
    in_english(world_a.rep1)
    book(world_a.rep1, "已有的拜访", hour=10)
    c = client_for(world_a.rep1)
    url = reverse("sales:appointment_create")
    response = c.post(url, form("新的会", hour=10, minutes=30, owner=world_a.rep1.pk))
    assert response.status_code == 422
    body = response.content.decode()
    assert "This time overlaps other appointments" in body and "已有的拜访" in body
    assert 'name="confirm_overlap"' in body and 'type="checkbox"' in body
    assert Appointment.objects.count() == 1
    # Re-posted with "save anyway": saved, and the accepted overlap is on the audit record.
    response = c.post(url, form("新的会", hour=10, minutes=30, owner=world_a.rep1.pk, confirm_overlap="on"))
    assert response.status_code == 302
    new = Appointment.objects.get(title="新的会")
    event = AuditEvent.objects.get(action="appointment.create", object_id=str(new.pk))
    assert event.details["overlap_confirmed"] == [Appointment.objects.get(title="已有的拜访").pk]


@pytest.mark.django_db
def test_touching_appointments_do_not_overlap(world_a):
    book(world_a.rep1, "上午", hour=9)
    book(world_a.rep1, "紧接着", hour=10)
    assert Appointment.objects.count() == 2


@pytest.mark.django_db
def test_overlap_as_an_attendee_counts_and_hides_what_the_user_may_not_see(world_a):
    book(world_a.manager, "经理的会", hour=14, attendees=[world_a.rep2])
    with pytest.raises(OverlapWarning) as exc:
        book(world_a.rep1, "叫上销售二", hour=14, minutes=30, attendees=[world_a.rep2])
    (conflict,) = exc.value.conflicts
    assert conflict.person == world_a.rep2 and conflict.appointment.title == "经理的会"
    assert conflict.visible is False  # rep1 neither owns nor attends it: shown as "busy" only
    assert not Appointment.objects.filter(title="叫上销售二").exists()


@pytest.mark.django_db
def test_busy_colleague_is_shown_as_busy_without_the_title(world_a, client_for):
    in_english(world_a.rep1)
    book(world_a.rep2, "私人安排", hour=15)
    response = client_for(world_a.rep1).post(
        reverse("sales:appointment_create"),
        form("联合拜访", hour=15, owner=world_a.rep1.pk, attendees=[world_a.rep2.pk]),
    )
    body = response.content.decode()
    assert response.status_code == 422 and f"{world_a.rep2.full_name} is busy" in body and "私人安排" not in body


@pytest.mark.django_db
def test_moving_into_an_overlap_warns_and_a_title_change_does_not(world_a, client_for):
    book(world_a.rep1, "下午的会", hour=15)
    morning = book(world_a.rep1, "上午的会", hour=9)
    c = client_for(world_a.rep1)
    url = reverse("sales:appointment_edit", args=[morning.pk])
    assert c.get(url).status_code == 200
    response = c.post(url, form("上午的会", hour=15, owner=world_a.rep1.pk))
    assert response.status_code == 422 and response.context["conflicts"]
    morning.refresh_from_db()
    assert timezone.localtime(morning.start_at).hour == 9
    response = c.post(url, form("上午的会", hour=15, owner=world_a.rep1.pk, confirm_overlap="on"))
    assert response.status_code == 302
    morning.refresh_from_db()
    assert timezone.localtime(morning.start_at).hour == 15
    # The overlap was accepted once; renaming it does not ask again.
    response = c.post(url, form("改名的会", hour=15, owner=world_a.rep1.pk))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="appointment.update", object_id=str(morning.pk)).count() == 2


@pytest.mark.django_db
def test_cancelled_appointments_do_not_conflict(world_a, client_for):
    old = book(world_a.rep1, "取消的会", hour=11)
    response = client_for(world_a.rep1).post(reverse("sales:appointment_cancel", args=[old.pk]))
    assert response.status_code == 302
    book(world_a.rep1, "新安排", hour=11)
    assert Appointment.objects.live().count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_bookings_for_the_same_person_at_once_cannot_both_miss_each_other():
    world = build_world("C")
    for round_ in range(5):
        barrier = threading.Barrier(2)
        outcomes = []

        def attempt(title, hour=9 + round_):
            try:
                barrier.wait()
                book(world.rep1, title, hour=hour)
                outcomes.append("saved")
            except OverlapWarning:
                outcomes.append("warned")
            finally:
                connection.close()

        threads = [threading.Thread(target=attempt, args=(f"第{round_}轮-{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["saved", "warned"]
    assert Appointment.objects.count() == 5


# --- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_end_before_start_is_refused_and_saves_nothing(world_a, client_for):
    in_english(world_a.rep1)
    start, _ = slot(1, 10)
    data = form(owner=world_a.rep1.pk)
    data["end_at"] = local(start - timedelta(hours=1))
    response = client_for(world_a.rep1).post(reverse("sales:appointment_create"), data)
    assert response.status_code == 422 and "The end must be after the start." in response.content.decode()
    with pytest.raises(DomainError) as exc:
        appointment_save(acting_user=world_a.rep1, title="x", start_at=start, end_at=start)
    assert exc.value.field == "end_at"
    assert not Appointment.objects.exists()


@pytest.mark.django_db
def test_customer_and_contacts_must_be_visible_and_belong_together(world_a, world_b, client_for):
    in_english(world_a.rep1)
    mine = make_customer(world_a.rep1, "我的日程客户")
    other = make_customer(world_a.rep1, "另一个日程客户")
    hidden = make_customer(world_a.rep2, "看不见的日程客户")
    foreign = make_customer(world_b.rep1, "别家的日程客户")
    c = client_for(world_a.rep1)
    url = reverse("sales:appointment_create")
    for customer in (hidden, foreign):
        response = c.post(url, form(owner=world_a.rep1.pk, customer=customer.pk))
        assert response.status_code == 422 and "Choose a customer you can see." in response.content.decode()
    foreign_contact = Contact.objects.get(customer=other)
    response = c.post(url, form(owner=world_a.rep1.pk, customer=mine.pk, contacts=[foreign_contact.pk]))
    assert response.status_code == 422
    with pytest.raises(DomainError) as exc:
        book(world_a.rep1, customer=mine, contacts=[foreign_contact])
    assert exc.value.field == "contacts"
    with pytest.raises(DomainError):
        book(world_a.rep1, attendees=[world_b.rep1])
    assert not Appointment.objects.exists()
    # The right contact of the right customer is fine, and the attendee is told.
    response = c.post(
        url,
        form(
            owner=world_a.rep1.pk,
            customer=mine.pk,
            contacts=[Contact.objects.get(customer=mine).pk],
            attendees=[world_a.rep2.pk],
        ),
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert list(appointment.contacts.all()) == [Contact.objects.get(customer=mine)]
    assert Notification.objects.filter(recipient=world_a.rep2, url=f"/calendar/appointments/{appointment.pk}/").exists()


# --- access --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_who_sees_and_who_changes_an_appointment(world_a, world_b, client_for):
    appointment = book(world_a.rep1, "一组的会", attendees=[world_a.agent])
    detail = reverse("sales:appointment_detail", args=[appointment.pk])
    edit = reverse("sales:appointment_edit", args=[appointment.pk])
    cancel = reverse("sales:appointment_cancel", args=[appointment.pk])
    for outsider in (world_b.admin, world_b.rep1, world_a.rep2):
        c = client_for(outsider)
        assert c.get(detail).status_code == 404
        assert c.get(edit).status_code == 404
        assert c.post(cancel).status_code == 404
    attendee = client_for(world_a.agent)
    assert attendee.get(detail).status_code == 200
    assert attendee.get(edit).status_code == 403 and attendee.post(cancel).status_code == 403
    assert client_for(world_a.manager).get(edit).status_code == 200
    appointment.refresh_from_db()
    assert appointment.cancelled_at is None


@pytest.mark.django_db
def test_contact_and_customer_pickers_only_offer_what_the_user_sees(world_a, world_b, client_for):
    mine = make_customer(world_a.rep1, "杭州云帆科技有限公司")
    make_customer(world_a.rep2, "杭州别人家有限公司")
    make_customer(world_b.rep1, "杭州别家科技有限公司")
    c = client_for(world_a.rep1)
    options = c.get(reverse("sales:customer_options"), {"customer_search": "杭州"}).content.decode()
    assert "杭州云帆科技有限公司" in options and "别人家" not in options and "别家科技" not in options
    contacts = c.get(reverse("sales:contact_options"), {"customer": mine.pk}).content.decode()
    assert f"{mine.name}联系人" in contacts
    hidden = make_customer(world_a.rep2, "看不见联系人的客户")
    assert (
        "看不见联系人的客户联系人"
        not in c.get(reverse("sales:contact_options"), {"customer": hidden.pk}).content.decode()
    )


# --- the views -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_week_and_month_views_for_a_rep(world_a, client_for):
    book(world_a.rep1, "我的拜访", day=0, hour=10)
    book(world_a.rep2, "同事的拜访", day=0, hour=10)
    start, _ = slot(0, 16)
    make_task(world_a.rep1, "我的日程任务", due=start)
    c = client_for(world_a.rep1)
    for params in ({}, {"view": "month"}, {"view": "week", "date": timezone.localdate().isoformat()}):
        body = c.get(reverse("sales:calendar"), params).content.decode()
        assert "我的拜访" in body and "我的日程任务" in body and "同事的拜访" not in body
    # A rep cannot look at a colleague's calendar: the member parameter falls back to themself.
    body = c.get(reverse("sales:calendar"), {"member": world_a.rep2.pk}).content.decode()
    assert "同事的拜访" not in body
    body = c.get(reverse("sales:calendar"), {"member": "all"}).content.decode()
    assert "同事的拜访" not in body
    # Navigation: next week, bad dates fall back to today.
    assert c.get(reverse("sales:calendar"), {"date": "not-a-date", "view": "year"}).status_code == 200


@pytest.mark.django_db
def test_overlaps_are_flagged_on_the_calendar(world_a, client_for):
    book(world_a.rep1, "拜访甲", day=0, hour=10, minutes=120)
    book(world_a.rep1, "周会", day=0, hour=11, confirm=True)
    book(world_a.rep1, "下午的会", day=0, hour=15)
    body = client_for(world_a.rep1).get(reverse("sales:calendar")).content.decode()
    assert body.count('cal-appt conflict"') == 2


@pytest.mark.django_db
def test_manager_sees_the_team_or_one_member(world_a, world_b, client_for):
    book(world_a.rep1, "一组拜访", day=0)
    book(world_a.rep2, "二组拜访", day=0, hour=14)
    book(world_b.rep1, "别家拜访", day=0)
    c = client_for(world_a.manager)
    team = c.get(reverse("sales:calendar"), {"member": "all"})
    body = team.content.decode()
    assert team.context["team"] and "一组拜访" in body and "二组拜访" in body and "别家拜访" not in body
    one = c.get(reverse("sales:calendar"), {"member": world_a.rep2.pk}).content.decode()
    assert "二组拜访" in one and "一组拜访" not in one
    # Another tenant's user id is not a member: falls back to the manager's own calendar.
    other = c.get(reverse("sales:calendar"), {"member": world_b.rep1.pk}).content.decode()
    assert "别家拜访" not in other and "一组拜访" not in other
    month = c.get(reverse("sales:calendar"), {"member": "all", "view": "month"}).content.decode()
    assert "一组拜访" in month and "二组拜访" in month


@pytest.mark.django_db
def test_team_week_view_of_20_people_runs_a_fixed_number_of_queries(world_a, client_for, django_assert_max_num_queries):
    big = TeamFactory(tenant=world_a.tenant, parent=world_a.sales, name="大组")

    def add_people(n):
        for _ in range(n):
            rep = UserFactory(tenant=world_a.tenant, team=big, roles=["rep"])
            for day in range(5):
                book(
                    rep,
                    f"拜访{day}",
                    day=day - timezone.localdate().weekday(),
                    hour=9 + day,
                    attendees=[world_a.rep1],
                    confirm=True,
                )
                make_task(rep, f"任务{day}", due=slot(day - timezone.localdate().weekday(), 17)[0])

    c = client_for(world_a.manager)
    url = reverse("sales:calendar")
    add_people(3)
    few = queries_for(lambda: c.get(url, {"member": "all"}))
    add_people(17)
    with django_assert_max_num_queries(12):
        response = c.get(url, {"member": "all"})
    assert len(response.context["rows"]) >= 20
    assert queries_for(lambda: c.get(url, {"member": "all"})) == few
    assert queries_for(lambda: c.get(url, {"member": "all", "view": "month"})) == few


@pytest.mark.django_db
def test_appointment_pages_render(world_a, client_for):
    customer = make_customer(world_a.rep1, "详情客户")
    appointment = book(world_a.rep1, "详情会议", customer=customer, contacts=[Contact.objects.get(customer=customer)])
    c = client_for(world_a.rep1)
    body = c.get(reverse("sales:appointment_detail", args=[appointment.pk])).content.decode()
    assert "详情会议" in body and "详情客户联系人" in body
    assert (
        c.get(reverse("sales:appointment_create"), {"date": "2030-01-02", "customer": customer.pk}).status_code == 200
    )
    assert AppointmentAttendee.objects.count() == 0
