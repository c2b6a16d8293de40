"""Forms of a customer: the profile, and the new-customer form with its first contact and owner."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.access import sales_assignable_users
from crm.api.services.custom_field import FORM_PREFIX, custom_form_fields, custom_values_from_form
from crm.models import Role, User
from customers.forms.choice_list import use_value_lists
from customers.models import Customer, CustomerLevel, Tag, credit_code_validator
from customers.regions import DEFAULT_INDUSTRIES, DEFAULT_SOURCES

INDUSTRIES = list(DEFAULT_INDUSTRIES)
SOURCES = list(DEFAULT_SOURCES)


class CustomerForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=Customer.Kind.choices, initial=Customer.Kind.COMPANY)
    name = forms.CharField(label=_("Name"), max_length=200)
    status = forms.ChoiceField(label=_("Status"), choices=Customer.Status.choices, initial=Customer.Status.POTENTIAL)
    level = forms.ModelChoiceField(label=_("Level"), queryset=CustomerLevel.objects.none(), required=False)
    industry = forms.CharField(label=_("Industry"), max_length=50, required=False)
    region = forms.CharField(label=_("Region"), max_length=50, required=False)
    source = forms.CharField(label=_("Source"), max_length=50, required=False)
    is_key_account = forms.BooleanField(label=_("Key account"), required=False)
    credit_code = forms.CharField(
        label=_("Unified social credit code"), max_length=18, required=False, validators=[credit_code_validator]
    )
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    website = forms.CharField(label=_("Website"), max_length=200, required=False)
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"), queryset=Tag.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, tenant, custom: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The company's custom fields (Settings → Custom fields), after the built-in ones; `custom`: stored values.
        for name, field in custom_form_fields(tenant.pk, "customer").items():
            field.initial = (custom or {}).get(name[len(FORM_PREFIX) :])
            self.fields[name] = field
        self.fields["level"].queryset = CustomerLevel.objects.for_tenant(tenant)
        self.fields["tags"].queryset = Tag.objects.for_tenant(tenant)
        use_value_lists(self, tenant)

    def clean_credit_code(self) -> str:
        return (self.cleaned_data.get("credit_code") or "").strip().upper()

    def clean(self):
        data = super().clean()
        if data.get("kind") == Customer.Kind.PERSON and data.get("credit_code"):
            self.add_error("credit_code", _("A person has no unified social credit code."))
        return data

    def customer_data(self) -> dict:
        data = {
            k: v
            for k, v in self.cleaned_data.items()
            if k != "tags" and k in self.fields and not k.startswith(FORM_PREFIX)
        }
        if any(name.startswith(FORM_PREFIX) for name in self.fields):
            data["custom"] = custom_values_from_form(self.cleaned_data)
        return data


class NewCustomerForm(CustomerForm):
    """Creation: the customer, its first contact, and (for managers and admins) its owner."""

    contact_name = forms.CharField(label=_("Contact name"), max_length=100, required=False)
    contact_title = forms.CharField(label=_("Contact title"), max_length=100, required=False)
    contact_mobile = forms.CharField(label=_("Contact mobile"), max_length=40, required=False)
    contact_email = forms.EmailField(label=_("Contact email"), required=False)
    contact_wechat = forms.CharField(label=_("Contact WeChat ID"), max_length=64, required=False)
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, help_text=_("Empty: you.")
    )
    assign_by_rules = forms.BooleanField(
        label=_("Let the assignment rules choose the owner"),
        required=False,
        help_text=_("The first matching rule gives it to a rep; unmatched customers go to the pool."),
    )

    def __init__(self, *args, tenant, user, **kwargs):
        super().__init__(*args, tenant=tenant, **kwargs)
        owners = sales_assignable_users(user)
        self.fields["owner"].queryset = owners
        if not user.has_any_role(Role.ADMIN, Role.MANAGER):
            del self.fields["owner"]
            del self.fields["assign_by_rules"]

    def clean(self):
        data = super().clean()
        if any(
            data.get(f) for f in ("contact_mobile", "contact_email", "contact_wechat", "contact_title")
        ) and not data.get("contact_name"):
            self.add_error("contact_name", _("Give the contact a name."))
        if data.get("assign_by_rules") and data.get("owner"):
            self.add_error("owner", _("Choose an owner or let the rules choose, not both."))
        if data.get("kind") == Customer.Kind.PERSON and not data.get("contact_name") and data.get("name"):
            # A person is their own first contact.
            data["contact_name"] = data["name"]
        return data

    def customer_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k in CustomerForm.base_fields and k != "tags"}

    def contact_data(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d.get("contact_name", ""),
            "title": d.get("contact_title", ""),
            "mobile": d.get("contact_mobile", ""),
            "email": d.get("contact_email", ""),
            "wechat": d.get("contact_wechat", ""),
        }
