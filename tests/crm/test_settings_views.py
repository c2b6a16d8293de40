import pytest
from django.test import Client
from django.urls import reverse

from crm.models import AuditEvent, Role, Team, User

from ..factories import UserFactory

ADMIN_PAGES = [
    "settings:index",
    "settings:tenant",
    "settings:users",
    "settings:user_create",
    "settings:teams",
    "settings:team_create",
    "settings:audit",
    "settings:messages",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_only_admins_reach_settings(world_a, client_for, name):
    assert client_for(world_a.admin).get(reverse(name)).status_code == 200
    for user in (world_a.manager, world_a.rep1, world_a.agent):
        assert client_for(user).get(reverse(name)).status_code == 403
    assert Client().get(reverse(name)).status_code == 302  # anonymous → login


@pytest.mark.django_db
def test_admin_creates_user_with_invite(world_a, client_for, django_capture_on_commit_callbacks, mailoutbox):
    c = client_for(world_a.admin)
    with django_capture_on_commit_callbacks(execute=False):
        r = c.post(
            reverse("settings:user_create"),
            {
                "email": "zhao@a.test",
                "full_name": "赵六",
                "roles": ["rep", "agent"],
                "team": world_a.team1.pk,
                "send_invite": "on",
            },
        )
    assert r.status_code == 302
    user = User.objects.get(email="zhao@a.test")
    assert user.tenant == world_a.tenant and user.roles == ["rep", "agent"] and user.team == world_a.team1


@pytest.mark.django_db
def test_user_form_refuses_another_tenants_team_and_saves_nothing(world_a, world_b, client_for):
    c = client_for(world_a.admin)
    r = c.post(
        reverse("settings:user_create"),
        {"email": "x@a.test", "full_name": "X", "roles": ["rep"], "team": world_b.team1.pk},
    )
    assert r.status_code == 200
    assert "team" in r.context["form"].errors
    assert not User.objects.filter(email="x@a.test").exists()
    r = c.post(
        reverse("settings:user_edit", args=[world_a.rep1.pk]),
        {"full_name": "Y", "roles": ["rep"], "team": world_b.team2.pk},
    )
    assert "team" in r.context["form"].errors
    assert User.objects.get(pk=world_a.rep1.pk).team == world_a.team1


@pytest.mark.django_db
def test_team_form_refuses_another_tenants_manager_and_parent(world_a, world_b, client_for):
    c = client_for(world_a.admin)
    r = c.post(
        reverse("settings:team_create"), {"name": "新组", "parent": world_b.sales.pk, "manager": world_b.manager.pk}
    )
    assert r.status_code == 200
    assert {"parent", "manager"} <= set(r.context["form"].errors)
    assert not Team.objects.filter(name="新组").exists()


@pytest.mark.django_db
def test_bad_user_input_gets_clear_errors(world_a, client_for):
    c = client_for(world_a.admin)
    r = c.post(reverse("settings:user_create"), {"email": "not-an-email", "full_name": "", "roles": []})
    errors = r.context["form"].errors
    assert {"email", "full_name", "roles"} <= set(errors)
    r = c.post(reverse("settings:user_create"), {"email": "REP1@a.test", "full_name": "Dup", "roles": ["rep"]})
    assert "email" in r.context["form"].errors


@pytest.mark.django_db
def test_deactivate_from_the_page_blocks_login_and_keeps_the_user(world_a, client_for):
    c = client_for(world_a.admin)
    r = c.post(reverse("settings:user_set_active", args=[world_a.rep1.pk]), {"active": "0"})
    assert r.status_code == 302
    assert User.objects.filter(pk=world_a.rep1.pk, is_active=False).exists()
    assert Client().post(reverse("login"), {"username": "rep1@a.test", "password": "pw-123456"}).status_code == 200
    assert AuditEvent.objects.filter(tenant=world_a.tenant, action="user.deactivate").exists()


@pytest.mark.django_db
def test_admin_edits_team_tree(world_a, client_for):
    c = client_for(world_a.admin)
    r = c.post(
        reverse("settings:team_create"), {"name": "华南组", "parent": world_a.sales.pk, "manager": world_a.manager.pk}
    )
    assert r.status_code == 302
    team = Team.objects.get(tenant=world_a.tenant, name="华南组")
    assert team.path.startswith(world_a.sales.path)
    # Moving a team under its own child is refused with a message.
    child = Team.objects.create(tenant=world_a.tenant, name="子组", parent=team, path="")
    child.path = f"{team.path}{child.pk}/"
    child.save()
    r = c.post(reverse("settings:team_edit", args=[team.pk]), {"name": "华南组", "parent": child.pk})
    assert r.status_code == 200 and r.context["form"].errors


@pytest.mark.django_db
def test_users_list_query_count_is_bounded(world_a, client_for, django_assert_max_num_queries):
    c = client_for(world_a.admin)
    c.get(reverse("settings:users"))
    for i in range(60):
        UserFactory(tenant=world_a.tenant, team=world_a.team1, email=f"bulk{i}@a.test", roles=[Role.REP])
    with django_assert_max_num_queries(12):
        r = c.get(reverse("settings:users"))
    assert r.status_code == 200
    with django_assert_max_num_queries(12):
        c.get(reverse("settings:users"), {"role": "rep", "team": world_a.team1.pk, "q": "bulk"}, HTTP_HX_REQUEST="true")
    with django_assert_max_num_queries(12):
        c.get(reverse("settings:teams"))
    with django_assert_max_num_queries(12):
        c.get(reverse("settings:audit"))


@pytest.mark.django_db
def test_users_list_filters_and_htmx_fragment(world_a, client_for):
    c = client_for(world_a.admin)
    r = c.get(reverse("settings:users"), {"role": "manager"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    content = r.content.decode()
    assert world_a.manager.full_name in content and world_a.rep1.full_name not in content
    assert "<html" not in content  # a fragment, from the same partial as the full page
    assert "HX-Request" in r["Vary"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "manager", "rep", "agent"])
def test_home_is_made_for_each_role(world_a, client_for, role, django_assert_max_num_queries):
    user = getattr(world_a, {"rep": "rep1"}.get(role, role))
    c = client_for(user)
    # Each app's widget adds a fixed few queries; none grows with the data (the reports widget of managers and
    # admins: two; the customers widget's "falling back this week": two; the lead pools' "falling back": two).
    with django_assert_max_num_queries(26):
        r = c.get(reverse("home"))
    assert r.status_code == 200
    keys = {w["widget"].key for w in r.context["widgets"]}
    assert ("admin_overview" in keys) == (role == "admin")
    assert ("my_teams" in keys) == (role == "manager")
    nav = {e.key for e in r.context["nav_entries"]}
    assert ("settings" in nav) == (role == "admin")
    if role == "manager":
        assert world_a.rep1.full_name in r.content.decode()


@pytest.mark.django_db
def test_text_fields_render_escaped(world_a, client_for):
    payload = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    world_a.rep1.full_name = payload
    world_a.rep1.save()
    world_a.team1.name = payload
    world_a.team1.save()
    c = client_for(world_a.admin)
    for url in [
        reverse("settings:users"),
        reverse("settings:teams"),
        reverse("settings:user_edit", args=[world_a.rep1.pk]),
    ]:
        content = c.get(url).content.decode()
        assert "<script>alert(2)" not in content and "<img src=x" not in content


@pytest.mark.django_db
def test_admin_home_recent_changes_read_as_sentences(world_a, world_b, client_for):
    from crm.services.audit import audit

    audit(tenant=world_a.tenant, actor=world_a.admin, action="webhook.save", obj=world_a.team1)
    audit(tenant=world_b.tenant, actor=world_b.admin, action="webhook.save", obj=world_b.team1)
    r = client_for(world_a.admin).get(reverse("home"))
    content = r.content.decode()
    # The company speaks Chinese; the object links to its page.
    assert f"{world_a.admin.full_name} 保存了 Webhook <a href=" in content
    assert f">{world_a.team1.name}</a>" in content
    assert "<code>webhook.save</code>" not in content
    assert world_b.team1.name not in content


@pytest.mark.django_db
def test_the_settings_menu_folds_behind_a_button_on_a_phone(world_a, client_for):
    body = client_for(world_a.admin).get(reverse("settings:tenant")).content.decode()
    assert 'data-bs-target="#settings-menu"' in body
    assert 'class="list-group small collapse d-md-block mt-2 mt-md-0" id="settings-menu"' in body
