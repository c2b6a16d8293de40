from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, CustomField
from .services.custom_field import FORM_PREFIX, custom_form_fields, custom_values_from_form
from .services.webhook import WEBHOOK_EVENTS


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What the token is for, e.g. ERP sync."))
    scope = forms.ChoiceField(label=_("Scope"), choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)
    expires_at = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for a token that does not expire."),
    )


class WebhookForm(forms.Form):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(label=_("Events"), choices=(), widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = list(WEBHOOK_EVENTS.items())


class CustomFieldForm(forms.Form):
    kind = forms.ChoiceField(label=_("Record"), choices=CustomField.Kind.choices)
    label = forms.CharField(label=_("Label"), max_length=100)
    key = forms.CharField(
        label=_("Key"), max_length=40, help_text=_("Used by the API and list filters, e.g. contract_no. Cannot change.")
    )
    type = forms.ChoiceField(label=_("Type"), choices=CustomField.Type.choices)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For lists: one choice a line."),
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(label=_("Help text"), max_length=200, required=False)
    position = forms.IntegerField(label=_("Order"), min_value=0, max_value=999, initial=0)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            for name in ("kind", "key", "type"):
                self.fields[name].disabled = True
                self.fields[name].required = False

    def choice_list(self) -> list[str]:
        return (self.cleaned_data.get("choices") or "").splitlines()


class CustomFieldsFormMixin:
    """A record's form with the company's custom fields of its kind (`custom_<key>`), after the built-in ones;
    templates show them with `api/custom_field/form_fields.html`."""

    def add_custom_fields(self, tenant_id: int, kind: str, values: dict | None = None) -> None:
        for name, field in custom_form_fields(tenant_id, kind).items():
            field.initial = (values or {}).get(name[len(FORM_PREFIX) :])
            self.fields[name] = field

    @property
    def custom_bound_fields(self) -> list:
        return [self[name] for name in self.fields if name.startswith(FORM_PREFIX)]

    def custom_data(self) -> dict | None:
        """The custom values by key for the record's service, or None when the kind has no field in use."""
        if not any(name.startswith(FORM_PREFIX) for name in self.fields):
            return None
        return custom_values_from_form(self.cleaned_data)
