import pytest
from django.test import Client

from crm.api.services.token import token_create


@pytest.fixture
def api_client():
    """api_client(user, scope="write") → (a test client sending that user's new token, the token row)."""

    def make(user, scope="write", **kwargs):
        token, raw = token_create(acting_user=user, name="test", scope=scope, **kwargs)
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}"), token

    return make
