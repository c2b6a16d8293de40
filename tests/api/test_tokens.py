from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from crm.api.models import ApiToken, CustomField
from crm.api.services.token import token_authenticate, token_create, token_digest, token_revoke
from crm.errors import DomainError

CUSTOMERS = "/api/v1/customers/"


@pytest.mark.django_db
def test_token_is_stored_hashed_and_authenticates(world_a):
    token, raw = token_create(acting_user=world_a.rep1, name="ERP", scope="read")
    assert raw.startswith(f"crm_{world_a.tenant.pk}_")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.digest == token_digest(raw) and raw not in (stored.digest, stored.prefix)
    assert raw.startswith(stored.prefix)
    found = token_authenticate(raw)
    assert found.pk == token.pk and found.user == world_a.rep1
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


@pytest.mark.django_db
def test_bad_values_do_not_authenticate(world_a, world_b):
    _token, raw = token_create(acting_user=world_a.rep1, name="ERP", scope="read")
    # The same secret under another tenant's id finds nothing: the lookup runs in that tenant's context.
    forged = raw.replace(f"crm_{world_a.tenant.pk}_", f"crm_{world_b.tenant.pk}_", 1)
    for value in (forged, raw + "x", "crm_x_y", "crm_1", "nonsense", ""):
        assert token_authenticate(value) is None


@pytest.mark.django_db
def test_revoked_expired_and_deactivated_tokens_are_refused(world_a):
    revoked, raw_revoked = token_create(acting_user=world_a.rep1, name="a", scope="read")
    token_revoke(acting_user=world_a.rep1, token=revoked)
    expiring, raw_expiring = token_create(
        acting_user=world_a.rep1, name="b", scope="read", expires_at=timezone.now() + timedelta(days=1)
    )
    ApiToken.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    _token, raw_user = token_create(acting_user=world_a.rep2, name="c", scope="read")
    world_a.rep2.is_active = False
    world_a.rep2.save(update_fields=["is_active"])
    for raw in (raw_revoked, raw_expiring, raw_user):
        assert token_authenticate(raw) is None
        response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(CUSTOMERS)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "authentication_failed"
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_create_refuses_bad_input(world_a):
    with pytest.raises(DomainError) as refused:
        token_create(acting_user=world_a.rep1, name=" ", scope="read")
    assert refused.value.field == "name"
    with pytest.raises(DomainError) as refused:
        token_create(acting_user=world_a.rep1, name="x", scope="admin")
    assert refused.value.field == "scope"
    with pytest.raises(DomainError) as refused:
        token_create(acting_user=world_a.rep1, name="x", scope="read", expires_at=timezone.now())
    assert refused.value.field == "expires_at"
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_only_owner_or_admin_revokes(world_a, world_b):
    token, _raw = token_create(acting_user=world_a.rep1, name="a", scope="read")
    with pytest.raises(DomainError):
        token_revoke(acting_user=world_a.rep2, token=token)
    with pytest.raises(DomainError):
        token_revoke(acting_user=world_b.admin, token=token)
    assert token_revoke(acting_user=world_a.admin, token=token).revoked_by == world_a.admin
    assert token_revoke(acting_user=world_a.rep1, token=token).revoked_by == world_a.admin  # twice: no change


@pytest.mark.django_db
def test_unauthenticated_and_read_scope(world_a, api_client):
    response = Client().get(CUSTOMERS)
    assert response.status_code in (401, 403)
    assert set(response.json()["error"]) >= {"status", "code", "message"}
    reader, _token = api_client(world_a.rep1, scope="read")
    assert reader.get(CUSTOMERS).status_code == 200
    response = reader.post(CUSTOMERS, {"name": "新客户"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.django_db
def test_agent_and_operator_tokens(world_a, api_client):
    agent, _token = api_client(world_a.agent, scope="read")
    assert agent.get(CUSTOMERS).json()["results"] == []


@pytest.mark.django_db
@override_settings(API_RATE_LIMIT="2/min")
def test_rate_limit_per_token(world_a, api_client, redis_test_db):
    first, _token = api_client(world_a.rep1, scope="read")
    second, _token = api_client(world_a.rep1, scope="read")
    assert first.get(CUSTOMERS).status_code == 200
    assert first.get(CUSTOMERS).status_code == 200
    limited = first.get(CUSTOMERS)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert limited.json()["error"]["code"] == "throttled"
    assert second.get(CUSTOMERS).status_code == 200  # another token has its own budget


@pytest.mark.django_db
def test_errors_are_translated(world_a, api_client):
    world_a.rep1.language = "zh-hans"
    world_a.rep1.save(update_fields=["language"])
    reader, _token = api_client(world_a.rep1, scope="read")
    response = reader.post(CUSTOMERS, {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert response["Content-Language"] == "zh-hans"
    assert response.json()["error"]["message"] == "此令牌只读：请创建具有读写范围的令牌。"


# --- the settings page -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_settings_page_shows_secret_once(world_a, client_for):
    client = client_for(world_a.rep1)
    response = client.post(reverse("api:tokens"), {"name": "ERP", "scope": "write"})
    assert response.status_code == 200
    secret = response.context["secret"]
    token = ApiToken.objects.get()
    assert token.digest == token_digest(secret) and token.user == world_a.rep1
    assert secret in response.content.decode()
    page = client.get(reverse("api:tokens")).content.decode()
    assert secret not in page and token.prefix in page


@pytest.mark.django_db
def test_settings_page_form_errors(world_a, client_for):
    response = client_for(world_a.rep1).post(
        reverse("api:tokens"), {"name": "ERP", "scope": "read", "expires_at": "2000-01-01"}
    )
    assert response.status_code == 422
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_admin_sees_and_revokes_all_rep_sees_own(world_a, world_b, client_for):
    mine, _raw = token_create(acting_user=world_a.rep1, name="rep1 token", scope="read")
    theirs, _raw = token_create(acting_user=world_a.rep2, name="rep2 token", scope="read")
    foreign, _raw = token_create(acting_user=world_b.rep1, name="other company", scope="read")
    rep1 = client_for(world_a.rep1)
    page = rep1.get(reverse("api:tokens")).content.decode()
    assert "rep1 token" in page and "rep2 token" not in page and "other company" not in page
    assert rep1.post(reverse("api:token_revoke", args=[theirs.pk])).status_code == 404
    admin = client_for(world_a.admin)
    page = admin.get(reverse("api:tokens")).content.decode()
    assert "rep1 token" in page and "rep2 token" in page and "other company" not in page
    assert admin.post(reverse("api:token_revoke", args=[foreign.pk])).status_code == 404
    assert admin.post(reverse("api:token_revoke", args=[theirs.pk])).status_code == 302
    theirs.refresh_from_db()
    foreign.refresh_from_db()
    assert theirs.revoked_at is not None and foreign.revoked_at is None


@pytest.mark.django_db
def test_docs_and_schema(world_a, client_for):
    client = client_for(world_a.rep1)
    schema = client.get(reverse("api:schema"), {"format": "json"})
    assert schema.status_code == 200
    assert "/api/v1/customers/" in schema.json()["paths"]
    docs = client.get(reverse("api:docs"))
    assert docs.status_code == 200
    body = docs.content.decode()
    assert "<style" not in body and "<script>" not in body and "//cdn" not in body
    script = client.get(reverse("api:docs"), {"script": ""})
    assert script.status_code == 200
    assert Client().get(reverse("api:schema")).status_code in (401, 403)


@pytest.mark.django_db
def test_demo_tokens_are_seeded_once():
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)
    names = set(ApiToken.objects.values_list("name", flat=True))
    assert "ERP 同步" in names
    assert ApiToken.objects.filter(name="ERP 同步").count() == ApiToken.objects.values("tenant").distinct().count()


@pytest.mark.django_db
def test_demo_custom_fields_are_seeded_once():
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)
    tenants = ApiToken.objects.values("tenant").distinct().count()
    assert CustomField.objects.filter(kind="lead", key="budget").count() == tenants
    assert set(CustomField.objects.values_list("kind", flat=True)) >= {"contact", "lead", "opportunity", "ticket"}
