"""The base of every app's API viewset (`<app>/api.py`): reads start from the model's `visible_to(user)`, writes go
through the app's services, and the app registers the viewset as an `ApiResource` (crm/registry.py)."""

from __future__ import annotations

from django.http import Http404
from rest_framework import mixins, viewsets


class TenantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and retrieve over `visible_queryset(user)`; an id the user may not see is 404, like a missing one.
    Subclasses add create/update by overriding `perform_create` / `perform_update` with a call to their service."""

    lookup_value_converter = "int"

    def visible_queryset(self, user):
        raise NotImplementedError

    def get_queryset(self):
        return self.visible_queryset(self.request.user)

    def get_object(self):
        try:
            return super().get_object()
        except (ValueError, TypeError):
            raise Http404 from None
