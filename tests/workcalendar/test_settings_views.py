"""Settings → Working calendar: admins only, bad input refused with clear errors and nothing saved, overrides added
and removed (htmx and plain), another tenant's override is 404, the preview says why each day is what it is."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from crm.models import AuditEvent
from crm.workcalendar import selectors
from crm.workcalendar.models import CalendarOverride, WorkCalendar

URL = reverse("workcalendar:settings")
ADD = reverse("workcalendar:override_add")


@pytest.fixture(autouse=True)
def english_admin(world_a):
    """The tenant speaks Chinese; these tests read the English messages (one test switches to Chinese)."""
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])


VALID = {
    "workdays": ["0", "1", "2", "3", "4", "5"],
    "day_start": "08:30",
    "day_end": "17:30",
    "lunch_start": "12:00",
    "lunch_end": "13:00",
    "follow_china_holidays": "on",
}


@pytest.mark.django_db
def test_only_admins_open_or_change_the_calendar(world_a, client_for):
    assert client_for(world_a.admin).get(URL).status_code == 200
    for user in (world_a.manager, world_a.rep1, world_a.agent):
        c = client_for(user)
        assert c.get(URL).status_code == 403
        assert c.post(URL, VALID).status_code == 403
        assert c.post(ADD, {"first_day": "2026-05-06", "is_working": "0"}).status_code == 403
    assert not WorkCalendar.objects.exists() and not CalendarOverride.objects.exists()


@pytest.mark.django_db
def test_the_settings_index_lists_the_page(world_a, client_for):
    response = client_for(world_a.admin).get(reverse("settings:index"))
    assert URL.encode() in response.content


@pytest.mark.django_db
def test_admin_saves_the_week_audited(world_a, client_for):
    response = client_for(world_a.admin).post(URL, VALID)
    assert response.status_code == 302
    calendar = WorkCalendar.objects.get(tenant=world_a.tenant)
    assert calendar.workdays == [0, 1, 2, 3, 4, 5]
    assert (calendar.day_start, calendar.lunch_end) == (dt.time(8, 30), dt.time(13))
    event = AuditEvent.objects.get(tenant=world_a.tenant, action="workcalendar.update")
    assert event.details["workdays"] == [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5]]
    assert event.actor == world_a.admin


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"day_end": "08:00"}, "day_end", "Work must end after it starts"),
        ({"lunch_start": "18:00", "lunch_end": "19:00"}, "lunch_start", "inside the working hours"),
        ({"lunch_start": "08:00", "lunch_end": "09:00"}, "lunch_start", "inside the working hours"),
        ({"lunch_start": "13:00", "lunch_end": "12:00"}, "lunch_end", "must end after it starts"),
        ({"lunch_end": ""}, "lunch_end", "both ends of the lunch break"),
        ({"workdays": []}, "workdays", "at least one working day"),
        ({"day_start": "9 o'clock"}, "day_start", "valid time"),
    ],
)
def test_bad_hours_are_refused_with_clear_errors(world_a, client_for, change, field, message):
    response = client_for(world_a.admin).post(URL, {**VALID, **change})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert not WorkCalendar.objects.exists()
    assert not AuditEvent.objects.filter(action="workcalendar.update").exists()


@pytest.mark.django_db
def test_errors_are_translated(world_a, client_for):
    world_a.admin.language = "zh-hans"
    world_a.admin.save(update_fields=["language"])
    response = client_for(world_a.admin).post(URL, {**VALID, "day_end": "08:00"})
    assert "工作日历" in response.content.decode()
    assert response.context["form"].errors["day_end"][0] != "Work must end after it starts"


@pytest.mark.django_db
def test_overrides_added_as_a_range_and_removed(world_a, client_for):
    c = client_for(world_a.admin)
    response = c.post(
        ADD,
        {"first_day": "2026-05-06", "last_day": "2026-05-08", "is_working": "0", "note": "团建"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "3 dates added" in response.content.decode()
    assert list(CalendarOverride.objects.filter(tenant=world_a.tenant).values_list("day", "is_working", "note")) == [
        (dt.date(2026, 5, 6), False, "团建"),
        (dt.date(2026, 5, 7), False, "团建"),
        (dt.date(2026, 5, 8), False, "团建"),
    ]
    override = CalendarOverride.objects.get(tenant=world_a.tenant, day=dt.date(2026, 5, 7))
    response = c.post(reverse("workcalendar:override_remove", args=[override.pk]))
    assert response.status_code == 302
    assert CalendarOverride.objects.filter(tenant=world_a.tenant).count() == 2
    actions = list(AuditEvent.objects.filter(tenant=world_a.tenant).values_list("action", flat=True))
    assert sorted(actions) == ["workcalendar.override_add", "workcalendar.override_remove"]


@pytest.mark.django_db
def test_overlapping_or_backwards_overrides_are_refused_whole(world_a, client_for):
    c = client_for(world_a.admin)
    c.post(ADD, {"first_day": "2026-05-07", "is_working": "1", "note": "盘点"})
    response = c.post(
        ADD, {"first_day": "2026-05-05", "last_day": "2026-05-09", "is_working": "0"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    errors = response.context["override_form"].errors
    assert "already have an override" in errors["first_day"][0]
    assert CalendarOverride.objects.filter(tenant=world_a.tenant).count() == 1
    response = c.post(ADD, {"first_day": "2026-05-09", "last_day": "2026-05-01", "is_working": "0"})
    assert "must not be before the first" in response.context["override_form"].errors["last_day"][0]
    response = c.post(ADD, {"first_day": "2026-01-01", "last_day": "2027-06-01", "is_working": "0"})
    assert "at most 366 days" in response.context["override_form"].errors["last_day"][0]
    assert CalendarOverride.objects.filter(tenant=world_a.tenant).count() == 1


@pytest.mark.django_db
def test_another_tenants_override_is_404(world_a, world_b, client_for):
    theirs = CalendarOverride.objects.create(tenant=world_b.tenant, day=dt.date(2026, 5, 6), is_working=False)
    response = client_for(world_a.admin).post(reverse("workcalendar:override_remove", args=[theirs.pk]))
    assert response.status_code == 404
    assert CalendarOverride.objects.filter(pk=theirs.pk).exists()
    assert client_for(world_b.rep1).post(reverse("workcalendar:override_remove", args=[theirs.pk])).status_code == 403


@pytest.mark.django_db
def test_the_preview_explains_each_day(world_a, client_for):
    CalendarOverride.objects.create(tenant=world_a.tenant, day=dt.date(2026, 2, 24), is_working=False, note="年假")
    response = client_for(world_a.admin).get(URL, {"start": "2026-02-13"})
    preview = {d.day: d for d in response.context["preview"]}
    assert len(preview) == 30
    assert preview[dt.date(2026, 2, 14)].is_working  # 调休 Saturday
    assert not preview[dt.date(2026, 2, 17)].is_working
    assert not preview[dt.date(2026, 2, 24)].is_working
    body = response.content.decode()
    assert "Make-up working day (调休) for Spring Festival" in body
    assert "Statutory holiday: Spring Festival" in body
    assert "Company holiday: 年假" in body


@pytest.mark.django_db
def test_the_page_warns_when_next_years_holidays_are_unknown(world_a, client_for, monkeypatch):
    monkeypatch.setattr(selectors, "CHINA_LAST_YEAR", selectors.local_today(world_a.tenant).year)
    response = client_for(world_a.admin).get(URL)
    assert b'data-testid="china-missing"' in response.content
    monkeypatch.setattr(selectors, "CHINA_LAST_YEAR", selectors.local_today(world_a.tenant).year + 1)
    response = client_for(world_a.admin).get(URL)
    assert b'data-testid="china-missing"' not in response.content


@pytest.mark.django_db
def test_the_page_runs_a_bounded_number_of_queries(world_a, client_for, django_assert_max_num_queries):
    c = client_for(world_a.admin)
    CalendarOverride.objects.bulk_create(
        CalendarOverride(tenant=world_a.tenant, day=dt.date(2030, 1, 1) + dt.timedelta(days=i), is_working=False)
        for i in range(200)
    )
    with django_assert_max_num_queries(14):
        assert c.get(URL).status_code == 200
