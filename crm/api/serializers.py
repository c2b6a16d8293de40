"""Serializer pieces every app's API shares."""

from __future__ import annotations

from rest_framework import serializers


def custom_values_field() -> serializers.DictField:
    """A record's custom fields in the API: by key, checked by type by the record's service."""
    return serializers.DictField(
        required=False,
        help_text="Custom fields by key (Settings → Custom fields); checked by type. "
        "Filter lists with cf_<key>=<value>.",
    )


def custom_on_create(data) -> dict:
    """The custom values of an API create: those given, or none at all, so that the record's service still checks
    them and refuses a create that leaves out a required field (422 naming it)."""
    return data.get("custom") or {}


class TenantPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A reference to a row of the request's tenant; another tenant's id is refused as unknown, never looked up."""

    def get_queryset(self):
        return super().get_queryset().for_tenant(self.context["request"].tenant)
