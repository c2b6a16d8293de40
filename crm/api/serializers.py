"""Serializer pieces every app's API shares."""

from __future__ import annotations

from rest_framework import serializers


class TenantPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A reference to a row of the request's tenant; another tenant's id is refused as unknown, never looked up."""

    def get_queryset(self):
        return super().get_queryset().for_tenant(self.context["request"].tenant)
