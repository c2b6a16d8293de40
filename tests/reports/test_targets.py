"""The targets grid: managers set their people's and teams' monthly targets, admins everyone's; a bad cell is named
and nothing is saved; nobody sets a target outside their teams."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from crm.errors import DomainError
from reports.models import SalesTarget
from reports.services.target import targets_save

pytestmark = pytest.mark.django_db

URL = reverse("reports:targets")


def test_a_manager_fills_the_grid_for_their_people_and_teams(world, client_for):
    c = client_for(world.manager)
    page = c.get(URL, {"year": 2026})
    assert page.status_code == 200
    body = page.content.decode()
    assert f'name="cell-user-{world.rep1.pk}-2026-03"' in body
    assert f'name="cell-team-{world.team1.pk}-2026-03"' in body
    # A manager's own target comes from above.
    assert f'name="cell-user-{world.manager.pk}-2026-03"' not in body
    response = c.post(
        f"{URL}?year=2026&field=amount",
        {f"cell-user-{world.rep1.pk}-2026-03": "50,000", f"cell-team-{world.team1.pk}-2026-03": "120000"},
    )
    assert response.status_code == 302
    assert SalesTarget.objects.get(user=world.rep1, month=dt.date(2026, 3, 1)).amount == Decimal("50000")
    assert SalesTarget.objects.get(team=world.team1, month=dt.date(2026, 3, 1)).amount == Decimal("120000")
    c.post(f"{URL}?year=2026&field=new_customers", {f"cell-user-{world.rep1.pk}-2026-03": "8"})
    assert SalesTarget.objects.get(user=world.rep1, month=dt.date(2026, 3, 1)).new_customers == 8
    # Emptying a cell removes the target.
    c.post(f"{URL}?year=2026&field=amount", {f"cell-user-{world.rep1.pk}-2026-03": ""})
    assert not SalesTarget.objects.filter(user=world.rep1).exists()


def test_a_bad_cell_is_named_and_nothing_is_saved(world, client_for):
    response = client_for(world.manager).post(
        f"{URL}?year=2026&field=amount",
        {f"cell-user-{world.rep1.pk}-2026-01": "1000", f"cell-user-{world.rep2.pk}-2026-01": "-5"},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Enter an amount between 0 and 999,999,999,999." in body
    assert "Some cells are not valid; nothing was saved." in body
    assert not SalesTarget.objects.exists()


def test_nobody_sets_targets_outside_their_teams(world, world_b, client_for):
    with pytest.raises(DomainError):
        targets_save(
            acting_user=world.manager,
            field="amount",
            values={("user", world.manager.pk, dt.date(2026, 1, 1)): Decimal("1")},
        )
    response = client_for(world.manager).post(
        f"{URL}?year=2026&field=amount",
        {f"cell-user-{world.rep1.pk}-2026-01": "1000", f"cell-user-{world_b.rep1.pk}-2026-01": "1000"},
    )
    assert response.status_code == 422
    assert not SalesTarget.objects.exists()
    assert client_for(world.rep1).get(URL).status_code == 403
    assert client_for(world.rep1).post(URL, {f"cell-user-{world.rep1.pk}-2026-01": "1"}).status_code == 403
    assert not SalesTarget.objects.exists()


def test_an_admin_sets_anyones_target_and_a_new_customers_count_needs_an_amount(world, client_for):
    c = client_for(world.admin)
    response = c.post(f"{URL}?year=2026&field=new_customers", {f"cell-user-{world.manager.pk}-2026-02": "3"})
    assert response.status_code == 422
    assert "Set the amount of 2026-02 first" in response.content.decode()
    c.post(f"{URL}?year=2026&field=amount", {f"cell-user-{world.manager.pk}-2026-02": "80000"})
    assert SalesTarget.objects.get(user=world.manager).amount == Decimal("80000")
