"""Custom fields: a company's administrator defines them per kind of record; every path that writes a record (its
form, the API, imports) validates the values here, by type, before the record's service saves them in its `custom`
JSONB column. Values are stored as JSON: text, numbers and amounts as strings of digits ("12.50") for money,
dates as "YYYY-MM-DD", choices as their text, several choices as a list, yes/no as true/false."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import User
from crm.services.audit import audit

from ..models import CustomField

FORM_PREFIX = "custom_"
TEXT_MAX = 1000
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def custom_fields_for(tenant_id: int | None, kind: str, *, archived: bool = False) -> list[CustomField]:
    """The kind's fields in their order (in use only, unless `archived`)."""
    if tenant_id is None:
        return []
    fields = CustomField.objects.filter(tenant_id=tenant_id, kind=kind)
    if not archived:
        fields = fields.filter(archived_at__isnull=True)
    return list(fields.order_by("position", "pk"))


@transaction.atomic
def custom_field_save(
    *,
    acting_user: User,
    kind: str,
    key: str,
    label: str,
    type: str,
    choices: list[str] = (),
    required: bool = False,
    help_text: str = "",
    position: int = 0,
    field: CustomField | None = None,
) -> CustomField:
    """Define a field or change one. Its key and type are fixed once made (stored values are read by them);
    the label, choices, order, help text and whether it is required may change."""
    require_admin(acting_user)
    label = (label or "").strip()
    if not label:
        raise DomainError(_("Give the field a label."), field="label")
    choices = [c.strip() for c in choices if c and c.strip()]
    if field is None:
        if kind not in CustomField.Kind.values:
            raise DomainError(_("Choose the kind of record."), field="kind")
        if type not in CustomField.Type.values:
            raise DomainError(_("Choose the field's type."), field="type")
        if not KEY_PATTERN.match(key or ""):
            raise DomainError(
                _("The key is lowercase letters, digits and _, starting with a letter (at most 40)."), field="key"
            )
        field = CustomField(tenant_id=acting_user.tenant_id, created_by=acting_user, kind=kind, key=key, type=type)
    if field.type in (CustomField.Type.CHOICE, CustomField.Type.MULTI) and not choices:
        raise DomainError(_("List the choices, one a line."), field="choices")
    field.label, field.choices, field.required = label, choices, bool(required)
    field.help_text, field.position = (help_text or "").strip()[:200], max(0, int(position or 0))
    try:
        with transaction.atomic():
            field.save()
    except IntegrityError:
        raise DomainError(_("Another field of this record already has this key."), field="key") from None
    audit(tenant=acting_user.tenant, actor=acting_user, action="custom_field.save", obj=field)
    return field


@transaction.atomic
def custom_field_archive(*, acting_user: User, field: CustomField, archived: bool = True) -> CustomField:
    """Take a field out of use (or back): its values stay on every record, and come back with it."""
    require_admin(acting_user)
    field.archived_at = timezone.now() if archived else None
    field.save(update_fields=["archived_at", "updated_at"])
    audit(tenant=acting_user.tenant, actor=acting_user, action="custom_field.archive", obj=field)
    return field


def _error(field: CustomField, message: str) -> DomainError:
    return DomainError(f"{field.label}: {message}", field=FORM_PREFIX + field.key)


def _clean_value(field: CustomField, value: Any) -> Any:
    """The JSON value of one field, or DomainError naming the field."""
    kind = CustomField.Type
    if field.type == kind.TEXT:
        text = str(value).strip()
        if len(text) > TEXT_MAX:
            raise _error(field, _("Too long: at most %(max)d characters.") % {"max": TEXT_MAX})
        return text
    if field.type in (kind.NUMBER, kind.MONEY):
        if isinstance(value, bool):
            raise _error(field, _("Enter a number."))
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise _error(field, _("Enter a number.")) from None
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise _error(field, _("Enter a number."))
        if field.type == kind.MONEY:
            return str(number.quantize(Decimal("0.01")))
        return int(number) if number == number.to_integral_value() else float(number)
    if field.type == kind.DATE:
        if isinstance(value, datetime.date):
            return value.isoformat()
        try:
            return datetime.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise _error(field, _("Enter a date such as 2026-01-31.")) from None
    if field.type == kind.CHOICE:
        if str(value) not in field.choices:
            raise _error(field, _("Choose one of the listed values."))
        return str(value)
    if field.type == kind.MULTI:
        values = value if isinstance(value, list | tuple) else [value]
        if any(str(v) not in field.choices for v in values):
            raise _error(field, _("Choose among the listed values."))
        return [c for c in field.choices if c in {str(v) for v in values}]
    if field.type == kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on", "是"):
            return True
        if text in ("false", "0", "no", "off", "否"):
            return False
        raise _error(field, _("Answer yes or no."))
    raise ValueError(f"unknown custom field type {field.type!r}")


def custom_value_clean(field: CustomField, value: Any) -> Any:
    """One value of `field` (an import's cell, say) checked by its type: its JSON value, or DomainError naming the
    field."""
    return _clean_value(field, value)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def custom_values_clean(*, tenant_id: int, kind: str, values: Any, existing: dict | None = None) -> dict[str, Any]:
    """The record's new `custom` value: `existing` with `values` (by key) applied and checked by type. A key of no
    field in use is refused; an empty value removes the key; archived fields' stored values are kept untouched;
    a required field must end up with a value."""
    if not isinstance(values, dict):
        raise DomainError(_("Custom fields are an object of key and value."), field="custom")
    fields = {f.key: f for f in custom_fields_for(tenant_id, kind)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise DomainError(_("Unknown custom field: %(keys)s.") % {"keys": ", ".join(unknown)}, field="custom")
    result = dict(existing or {})
    for key, value in values.items():
        if _is_empty(value):
            result.pop(key, None)
        else:
            result[key] = _clean_value(fields[key], value)
    for field in fields.values():
        if field.required and _is_empty(result.get(field.key)):
            raise _error(field, _("This field is required."))
    return result


def custom_form_fields(tenant_id: int | None, kind: str) -> dict[str, forms.Field]:
    """Form fields of the kind's custom fields, named `custom_<key>`, for the record's form."""
    made: dict[str, forms.Field] = {}
    for field in custom_fields_for(tenant_id, kind):
        common = {"label": field.label, "required": False, "help_text": field.help_text}
        if field.type == CustomField.Type.TEXT:
            form_field = forms.CharField(max_length=TEXT_MAX, **common)
        elif field.type in (CustomField.Type.NUMBER, CustomField.Type.MONEY):
            form_field = forms.DecimalField(max_digits=17, decimal_places=2, **common)
        elif field.type == CustomField.Type.DATE:
            form_field = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
        elif field.type == CustomField.Type.CHOICE:
            form_field = forms.ChoiceField(choices=[("", "—"), *((c, c) for c in field.choices)], **common)
        elif field.type == CustomField.Type.MULTI:
            form_field = forms.MultipleChoiceField(
                choices=[(c, c) for c in field.choices], widget=forms.CheckboxSelectMultiple, **common
            )
        else:
            form_field = forms.NullBooleanField(**common)
        form_field.custom_required = field.required
        made[FORM_PREFIX + field.key] = form_field
    return made


def custom_values_from_form(cleaned_data: dict[str, Any]) -> dict[str, Any]:
    """The `custom_<key>` values of a form's cleaned data, by key (for custom_values_clean)."""
    return {name[len(FORM_PREFIX) :]: value for name, value in cleaned_data.items() if name.startswith(FORM_PREFIX)}


def custom_value_filter(field: CustomField, raw: Any) -> dict[str, Any] | None:
    """The JSONB containment for one field's list-filter value, or None when the value does not fit its type."""
    if _is_empty(raw):
        return None
    try:
        value = _clean_value(field, raw)
    except DomainError:
        return None
    return {field.key: [value] if field.type == CustomField.Type.MULTI and isinstance(value, str) else value}


def custom_display(
    tenant_id: int | None, kind: str, values: dict | None, *, fields: list[CustomField] | None = None
) -> list[tuple[str, str]]:
    """(label, text) of a record's custom fields in use that have a value, in their order, for its page; `fields`:
    the kind's fields when the caller read them already."""
    shown = []
    if fields is None:
        fields = custom_fields_for(tenant_id, kind)
    for field in fields:
        value = (values or {}).get(field.key)
        if _is_empty(value):
            continue
        shown.append((field.label, custom_text(field, value)))
    return shown


def custom_text(field: CustomField, value: Any) -> str:
    """A stored value of `field` as people read it (a page, an export's cell): choices joined by 、, yes or no;
    empty for no value."""
    if _is_empty(value):
        return ""
    if field.type == CustomField.Type.MULTI and isinstance(value, list):
        return "、".join(str(v) for v in value)
    if field.type == CustomField.Type.BOOLEAN:
        return _("Yes") if value else _("No")
    return str(value)
