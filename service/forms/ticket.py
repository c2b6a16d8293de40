"""The ticket forms: create, edit, reply, assign; the query parameters of the pickers."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from crm.api.forms import CustomFieldsFormMixin
from crm.errors import DomainError
from crm.forms import QueryForm
from crm.models import Team, User
from customers.models import Contact, Customer
from service.access import assignable_agents, ticket_customers
from service.models import CannedReply, Channel, Priority, Status, TicketCategory
from service.services.attachment import attachments_check


class SelectedOnlySelect(forms.Select):
    """Renders only the empty and the selected option: the options come from a search (htmx), since a tenant may
    hold a million customers."""

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


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.full_name or obj.email


class TagsField(forms.CharField):
    """Comma-separated tags (，and 、 too)."""

    def to_python(self, value):
        value = super().to_python(value) or ""
        for sep in ("，", "、", ";", "；"):
            value = value.replace(sep, ",")
        return [t.strip() for t in value.split(",") if t.strip()]

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files (none required); the desk's checks run in the service, which refuses with a message on this
    field. The help text says the limits."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Attachments"))
        super().__init__(**kwargs)
        types = settings.SERVICE_ATTACHMENT_TYPES
        self.widget.attrs["accept"] = ",".join(f".{t}" for t in types)
        self.help_text = format_lazy(
            _("Up to {files} files of {mb} MB each: {types}."),
            files=settings.SERVICE_ATTACHMENT_MAX_FILES,
            mb=settings.SERVICE_ATTACHMENT_MAX_BYTES // (1024 * 1024),
            types=", ".join(types),
        )

    def clean(self, data, initial=None):
        single = super().clean
        items = data if isinstance(data, list | tuple) else [data]
        files = [single(item, initial) for item in items if item]
        try:
            attachments_check(files)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        return files


def _categories(tenant):
    return TicketCategory.objects.filter(tenant=tenant, active=True).order_by("name")


class TicketForm(CustomFieldsFormMixin, forms.Form):
    customer = forms.ModelChoiceField(
        label=_("Customer"),
        queryset=Customer.objects.none(),
        widget=SelectedOnlySelect,
        error_messages={"invalid_choice": _("Choose a customer."), "required": _("Choose a customer.")},
    )
    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False, empty_label=_("— none —")
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=TicketCategory.objects.none(), required=False, empty_label=_("— none —")
    )
    tags = TagsField(label=_("Tags"), required=False, help_text=_("Separated by commas."))
    attachments = AttachmentsField()
    assignee = AgentChoiceField(
        label=_("Assignee"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Dispatch by the rules"),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_custom_fields(user.tenant_id, "ticket")
        self.fields["customer"].queryset = ticket_customers(user)
        self.fields["category"].queryset = _categories(user.tenant)
        self.fields["assignee"].queryset = assignable_agents(user).order_by("full_name", "pk")
        customer = None
        if self.is_bound:
            key = self.add_prefix("customer")
            raw = self.data.get(key)
            if raw and str(raw).isascii() and str(raw).isdigit():
                customer = self.fields["customer"].queryset.filter(pk=int(raw)).first()
        else:
            customer = self.initial.get("customer")
        self.fields["contact"].queryset = (
            Contact.objects.filter(tenant_id=user.tenant_id, customer=customer) if customer else Contact.objects.none()
        )


class TicketEditForm(CustomFieldsFormMixin, forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=TicketCategory.objects.none(), required=False, empty_label=_("— none —")
    )
    tags = TagsField(label=_("Tags"), required=False, help_text=_("Separated by commas."))

    def __init__(self, *args, user: User, current_category=None, custom: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_custom_fields(user.tenant_id, "ticket", custom)
        categories = _categories(user.tenant)
        if current_category is not None:
            categories = categories | TicketCategory.objects.filter(tenant=user.tenant, pk=current_category.pk)
        self.fields["category"].queryset = categories


REPLY_STATUSES = [
    ("", _("Keep the status")),
    (Status.PENDING, _("Pending customer")),
    (Status.RESOLVED, _("Resolved")),
]


class ReplyForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[("reply", _("Public reply")), ("note", _("Internal note"))],
        initial="reply",
        widget=forms.RadioSelect,
    )
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 5}), max_length=20000)
    status = forms.ChoiceField(label=_("Then"), choices=REPLY_STATUSES, required=False)
    attachments = AttachmentsField()


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[(v, label) for v, label in Status.choices if v != Status.NEW]
    )


class AssignForm(forms.Form):
    assignee = AgentChoiceField(label=_("Assignee"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_agents(user).order_by("full_name", "pk")
        self.fields["team"].queryset = Team.objects.filter(tenant=user.tenant).order_by("path")

    def clean(self):
        data = super().clean()
        if not data.get("assignee") and not data.get("team"):
            raise forms.ValidationError(_("Choose an agent or a team."))
        return data


class CustomerParamForm(QueryForm):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), required=False)

    def __init__(self, data, *, queryset):
        super().__init__(data)
        self.fields["customer"].queryset = queryset


def canned_replies(tenant) -> list[CannedReply]:
    return list(CannedReply.objects.filter(tenant=tenant).order_by("title")[:100])
