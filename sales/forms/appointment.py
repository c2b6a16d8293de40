"""The appointment form."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from crm.access import assignable_users
from crm.models import User
from customers.models import Contact, Customer
from sales.forms.calendar import FIRST_DAY, LAST_DAY
from sales.forms.fields import (
    CustomerChoiceField,
    CustomerParamForm,
    DateTimeLocalInput,
    UserChoiceField,
    UserMultipleChoiceField,
)


class AppointmentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    start_at = forms.DateTimeField(label=_("Start"), widget=DateTimeLocalInput)
    end_at = forms.DateTimeField(label=_("End"), widget=DateTimeLocalInput)
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    owner = UserChoiceField(label=_("Owner"), queryset=User.objects.none(), empty_label=None)
    attendees = UserMultipleChoiceField(
        label=_("Colleagues"), queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    customer = CustomerChoiceField(label=_("Customer"), required=False)
    contacts = forms.ModelMultipleChoiceField(
        label=_("Contacts"),
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Contacts of the linked customer who take part."),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    confirm_overlap = forms.BooleanField(label=_("Save anyway, despite the overlap"), required=False)

    def __init__(self, *args, user: User, show_confirm: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_users(user).order_by("full_name")
        if self.fields["owner"].queryset.count() <= 1:
            self.fields["owner"].widget = forms.HiddenInput()
        self.fields["attendees"].queryset = (
            User.objects.for_tenant(user.tenant).filter(is_active=True).order_by("full_name")
        )
        self.fields["customer"].queryset = Customer.objects.visible_to(user)
        customer_id = self._raw("customer")
        contacts = Contact.objects.filter(tenant_id=user.tenant_id, customer__in=Customer.objects.visible_to(user))
        self.fields["contacts"].queryset = (
            contacts.filter(customer_id=customer_id)
            if str(customer_id or "").isascii() and str(customer_id or "").isdigit()
            else contacts.none()
        )
        if not show_confirm:
            self.fields["confirm_overlap"].widget = forms.HiddenInput()

    def _raw(self, name: str):
        if self.is_bound:
            return self.data.get(self.add_prefix(name))
        value = self.initial.get(name)
        return getattr(value, "pk", value)

    def clean(self):
        data = super().clean()
        start, end = data.get("start_at"), data.get("end_at")
        if start and end and end <= start:
            self.add_error("end_at", _("The end must be after the start."))
        return data


class NewAppointmentParamsForm(CustomerParamForm):
    """`date` (the day a new appointment starts, from the calendar) and `customer` (pre-selected)."""

    date = forms.DateField(required=False, validators=[MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)])

    def __init__(self, data, *, queryset, today):
        super().__init__(data, queryset=queryset)
        self.defaults = {"date": today}
