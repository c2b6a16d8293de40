"""Forms of the sales app. Choices are scoped to what the user may use: a customer the user cannot see is not a valid
choice (one message for "missing", "not yours" and "another company's"), and the services check again."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.access import assignable_users
from crm.models import User
from customers.models import Contact, Customer

from .models import FollowUp, order_currencies

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=DATETIME_FORMAT)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class SelectedOnlySelect(forms.Select):
    """A select that renders only the empty and the selected option: the customer list may hold a million rows, so
    the picker's options come from a search (htmx) instead of being rendered in full."""

    def optgroups(self, name, value, attrs=None):
        selected = {str(v) for v in value if v not in (None, "")}
        groups = []
        for index, (option_value, option_label) in enumerate(self.choices):
            key = str(getattr(option_value, "value", option_value))
            if key == "" or key in selected:
                groups.append(
                    (None, [self.create_option(name, option_value, option_label, key in selected, index)], index)
                )
        return groups


class CustomerChoiceField(forms.ModelChoiceField):
    """A customer the user can see; anything else gets the same message."""

    default_error_messages = {"invalid_choice": _("Choose a customer you can see.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Customer.objects.none())
        kwargs.setdefault("widget", SelectedOnlySelect)
        kwargs.setdefault("empty_label", _("— none —"))
        super().__init__(**kwargs)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.full_name or obj.email


class UserMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.full_name or obj.email


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    due_at = forms.DateTimeField(label=_("Due"), widget=DateTimeLocalInput)
    remind_at = forms.DateTimeField(
        label=_("Reminder"),
        required=False,
        widget=DateTimeLocalInput,
        help_text=_("You get a notification and an email at this time."),
    )
    assignee = UserChoiceField(label=_("Assignee"), queryset=User.objects.none(), empty_label=None)
    customer = CustomerChoiceField(label=_("Customer"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_users(user).order_by("full_name")
        self.fields["customer"].queryset = Customer.objects.visible_to(user)
        if self.fields["assignee"].queryset.count() <= 1:
            self.fields["assignee"].widget = forms.HiddenInput()

    def clean(self):
        data = super().clean()
        due, remind = data.get("due_at"), data.get("remind_at")
        if due and remind and remind > due:
            self.add_error("remind_at", _("The reminder must not be later than the due time."))
        return data


class FollowUpForm(forms.Form):
    """Log a follow-up, and optionally plan the next task in the same step."""

    kind = forms.ChoiceField(label=_("Type"), choices=FollowUp.Kind.choices, initial=FollowUp.Kind.CALL)
    happened_at = forms.DateTimeField(label=_("When"), widget=DateTimeLocalInput)
    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False, empty_label=_("— none —")
    )
    content = forms.CharField(
        label=_("What happened"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("What was discussed, what the customer said")}),
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=FollowUp.Outcome.choices, initial=FollowUp.Outcome.NEUTRAL)
    next_step = forms.CharField(label=_("Next step"), max_length=500, required=False)
    create_next_task = forms.BooleanField(label=_("Plan the next step as a task"), required=False)
    next_task_title = forms.CharField(
        label=_("Task title"), max_length=200, required=False, help_text=_("Empty: the next step.")
    )
    next_task_due_at = forms.DateTimeField(label=_("Task due"), required=False, widget=DateTimeLocalInput)
    next_task_remind_at = forms.DateTimeField(label=_("Reminder"), required=False, widget=DateTimeLocalInput)

    NEXT_TASK_FIELDS = ("next_task_title", "next_task_due_at", "next_task_remind_at")

    def __init__(self, *args, customer: Customer | None, editing: bool = False, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("happened_at", timezone.localtime().replace(second=0, microsecond=0))
        super().__init__(*args, **kwargs)
        if customer is None:
            # A lead has no contacts yet: the follow-up is with the lead itself.
            del self.fields["contact"]
        else:
            self.fields["contact"].queryset = Contact.objects.filter(tenant_id=customer.tenant_id, customer=customer)
        self.editing = editing
        if editing:
            for name in ("create_next_task", *self.NEXT_TASK_FIELDS):
                del self.fields[name]

    def clean(self):
        data = super().clean()
        if self.editing or not data.get("create_next_task"):
            return data
        if not (data.get("next_task_title") or data.get("next_step")):
            self.add_error("next_task_title", _("Give the task a title, or fill in the next step."))
        if not data.get("next_task_due_at") and "next_task_due_at" not in self.errors:
            self.add_error("next_task_due_at", _("Enter when the task is due."))
        return data

    def next_task_fields(self):
        return [self[name] for name in self.NEXT_TASK_FIELDS if name in self.fields]

    def main_fields(self):
        hidden = {"create_next_task", *self.NEXT_TASK_FIELDS}
        return [f for f in self.visible_fields() if f.name not in hidden]


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
            contacts.filter(customer_id=customer_id) if str(customer_id or "").isdigit() else contacts.none()
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


class OrderForm(forms.Form):
    customer = CustomerChoiceField(label=_("Customer"), empty_label=None)
    ordered_on = forms.DateField(label=_("Order date"), widget=DateInput)
    currency = forms.ChoiceField(label=_("Currency"))
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=_("Empty with product lines: their total."),
    )
    reference = forms.CharField(label=_("Order number"), max_length=64, required=False)
    items_text = forms.CharField(
        label=_("Items (free text)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Or list the products as lines below."),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.editable_by(user)
        self.fields["currency"].choices = [(c, c) for c in order_currencies(user.tenant)]
        self.fields["currency"].initial = user.tenant.currency
        self.fields["currency"].error_messages["invalid_choice"] = _("%(value)s is not a currency your company uses.")

    def clean_amount(self):
        amount = self.cleaned_data.get("amount")
        if amount is not None and amount <= 0:
            raise forms.ValidationError(_("The amount must be greater than zero."))
        return amount


class OrderLineForm(forms.Form):
    name = forms.CharField(label=_("Product"), max_length=200, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=12, decimal_places=2, required=False)
    unit_price = forms.DecimalField(label=_("Unit price"), max_digits=14, decimal_places=2, required=False)

    def clean(self):
        data = super().clean()
        name, qty, price = data.get("name"), data.get("quantity"), data.get("unit_price")
        if not (name or qty is not None or price is not None):
            return data  # an empty line is ignored
        if not name:
            self.add_error("name", _("Enter the product."))
        if qty is None or qty <= 0:
            self.add_error("quantity", _("The quantity must be greater than zero."))
        if price is None or price < Decimal("0"):
            self.add_error("unit_price", _("Enter a unit price of zero or more."))
        return data

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not (data.get("name") or data.get("quantity") is not None or data.get("unit_price") is not None)


OrderLineFormSet = forms.formset_factory(OrderLineForm, extra=3, max_num=50, validate_max=True)


class OrderVoidForm(forms.Form):
    reason = forms.CharField(label=_("Why is this order void?"), max_length=300)
