from __future__ import annotations

from django.http import Http404

from crm.models import User

from .models import ApiToken


def get_token_for_user(user: User, pk: int) -> ApiToken:
    """A token the user may see (their own; an administrator: the tenant's), or Http404."""
    token = ApiToken.objects.visible_to(user).select_related("user").filter(pk=pk).first()
    if token is None:
        raise Http404
    return token
