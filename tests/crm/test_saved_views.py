"""Saved views: a list's filters saved under a name, personal or shared by a manager with a team; another tenant's
or a colleague's view is 404 (or refused); the page number is never saved."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from crm.errors import DomainError
from crm.savedviews.models import SavedView
from crm.savedviews.services import saved_view_delete, saved_view_save

pytestmark = pytest.mark.django_db


def test_save_open_and_delete_a_personal_view(world_a, client_for):
    c = client_for(world_a.rep1)
    r = c.post(
        reverse("savedviews:save"),
        {"list_name": "customers:list", "name": "A级客户", "query": "level=1&sort=fallback&page=3"},
    )
    view = SavedView.objects.get()
    assert view.query == "level=1&sort=fallback" and view.owner == world_a.rep1 and view.team is None
    assert r["Location"] == reverse("customers:list") + "?level=1&sort=fallback"
    body = c.get(reverse("customers:list")).content.decode()
    assert 'data-testid="saved-view"' in body and "A级客户" in body
    # The same name replaces the filters.
    saved_view_save(acting_user=world_a.rep1, list_name="customers:list", name="A级客户", query="level=2")
    assert SavedView.objects.get().query == "level=2"
    # A colleague neither sees nor deletes it.
    assert "A级客户" not in client_for(world_a.rep2).get(reverse("customers:list")).content.decode()
    assert client_for(world_a.rep2).post(reverse("savedviews:delete", args=[view.pk])).status_code == 404
    assert c.post(reverse("savedviews:delete", args=[view.pk])).status_code == 302
    assert not SavedView.objects.exists()


def test_a_manager_shares_a_view_with_a_team(world_a, client_for):
    view = saved_view_save(
        acting_user=world_a.manager,
        list_name="sales:lead_list",
        name="本周新线索",
        query="status=new",
        team=world_a.team1,
    )
    assert "本周新线索" in client_for(world_a.rep1).get(reverse("sales:lead_list")).content.decode()
    assert "本周新线索" not in client_for(world_a.rep2).get(reverse("sales:lead_list")).content.decode()
    with pytest.raises(PermissionDenied):
        saved_view_delete(acting_user=world_a.rep1, view=view)
    # A rep shares with nobody; nobody saves an unknown list or an empty name.
    with pytest.raises(DomainError):
        saved_view_save(acting_user=world_a.rep1, list_name="sales:lead_list", name="x", query="", team=world_a.team1)
    with pytest.raises(DomainError):
        saved_view_save(acting_user=world_a.rep1, list_name="admin:index", name="x", query="")
    with pytest.raises(DomainError):
        saved_view_save(acting_user=world_a.rep1, list_name="sales:lead_list", name=" ", query="")


def test_another_tenant_gets_404_and_sees_nothing(world_a, world_b, client_for):
    view = saved_view_save(acting_user=world_a.rep1, list_name="customers:list", name="MARKA 视图", query="q=x")
    c = client_for(world_b.admin)
    assert c.post(reverse("savedviews:delete", args=[view.pk])).status_code == 404
    assert "MARKA 视图" not in c.get(reverse("customers:list")).content.decode()
    # Another tenant's team in the form is refused.
    r = client_for(world_b.manager).post(
        reverse("savedviews:save"),
        {"list_name": "customers:list", "name": "跨租户", "query": "", "team": world_a.team1.pk},
    )
    assert r.status_code == 302 and not SavedView.objects.filter(name="跨租户").exists()
    assert SavedView.objects.filter(pk=view.pk).exists()
