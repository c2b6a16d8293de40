"""The base of every app's API viewset (`<app>/api.py`): reads start from the model's `visible_to(user)`, writes go
through the app's services, and the app registers the viewset as an `ApiResource` (crm/registry.py)."""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from crm.errors import DomainError

from .models import IdempotencyKey

IDEMPOTENCY_HEADER = "Idempotency-Key"


class TenantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and retrieve over `visible_queryset(user)`; an id the user may not see is 404, like a missing one.
    Subclasses add create (IdempotentCreateMixin) and update by overriding `perform_create` / `perform_update` with a
    call to their service."""

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


class IdempotentCreateMixin(mixins.CreateModelMixin):
    """POST with an `Idempotency-Key` header: the first request creates and its answer is kept; the same key again
    from the same user gets that answer (and creates nothing). The key, the write and the kept answer share one
    transaction, so a refused or failed create keeps no key, and a concurrent retry waits for the first to finish.
    The same key with a different body or address is refused (422)."""

    def create(self, request, *args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key:
            return super().create(request, *args, **kwargs)
        if len(key) > 100:
            raise ValidationError({IDEMPOTENCY_HEADER: [_("At most 100 characters.")]})
        request_hash = hashlib.sha256(request.body).hexdigest()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    row = IdempotencyKey.objects.create(
                        tenant_id=request.user.tenant_id,
                        user=request.user,
                        key=key,
                        path=request.path[:300],
                        request_hash=request_hash,
                    )
            except IntegrityError:
                row = IdempotencyKey.objects.get(tenant_id=request.user.tenant_id, user=request.user, key=key)
                if row.path != request.path[:300] or row.request_hash != request_hash:
                    raise DomainError(
                        _("This Idempotency-Key was used for another request."), field=IDEMPOTENCY_HEADER
                    ) from None
                return Response(row.response, status=row.status_code, headers={"Idempotent-Replayed": "true"})
            response = super().create(request, *args, **kwargs)
            row.status_code = response.status_code
            row.response = json.loads(JSONRenderer().render(response.data))
            row.save(update_fields=["status_code", "response", "updated_at"])
        return response
