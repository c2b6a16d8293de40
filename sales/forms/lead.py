"""Forms of a lead: the lead, its status, handing it out (one or many)."""

from __future__ import annotations

from types import SimpleNamespace

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.access import sales_assignable_users
from crm.api.forms import CustomFieldsFormMixin
from crm.api.services.custom_field import FORM_PREFIX
from crm.errors import DomainError
from crm.models import User
from customers.forms.choice_list import use_value_lists
from customers.forms.holdings import RepWithHoldingsField
from customers.models import Tag
from sales.access import is_lead_manager
from sales.models import (
    Lead,
    Product,
)
from sales.services.lead import SETTABLE_STATUSES, clean_lead_data

UNASSIGNED = "none"


class LeadForm(CustomFieldsFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False, help_text=_("Mobile or landline."))
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    wechat = forms.CharField(label=_("WeChat ID"), max_length=64, required=False)
    region = forms.CharField(label=_("Region"), max_length=50, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=50, required=False)
    source = forms.CharField(label=_("Source"), max_length=50, required=False)
    product = forms.ModelChoiceField(
        label=_("Product line"),
        queryset=Product.objects.none(),
        required=False,
        help_text=_("What the lead asks about."),
    )
    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"),
        queryset=Tag.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Lead pools may have their own fall-back rules per tag."),
    )
    campaign = forms.CharField(label=_("Campaign"), max_length=100, required=False)
    message = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)

    def __init__(self, *args, user: User, creating: bool = True, custom: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        use_value_lists(self, user.tenant)
        self.add_custom_fields(user.tenant_id, "lead", custom)
        # Active products, and the lead's own product even if it was retired since.
        current = self.initial.get("product")
        self.fields["product"].queryset = Product.objects.filter(
            Q(is_active=True) | Q(pk=getattr(current, "pk", current) or 0), tenant=user.tenant
        ).order_by("code", "pk")
        self.fields["product"].error_messages["invalid_choice"] = _("Choose a product of your company's catalogue.")
        self.fields["tags"].queryset = Tag.objects.for_tenant(user.tenant).order_by("name", "pk")
        if not creating or not is_lead_manager(user):
            del self.fields["owner"]
            return
        self.owners = {str(u.pk): u for u in sales_assignable_users(user).order_by("full_name", "pk")}
        choices = [(str(user.pk), _("Me (%(name)s)") % {"name": user.full_name or user.email})]
        choices += [(pk, u.full_name or u.email) for pk, u in self.owners.items() if u.pk != user.pk]
        choices.append((UNASSIGNED, _("Nobody yet (hand out later)")))
        self.fields["owner"].choices = choices
        self.fields["owner"].initial = str(user.pk)

    def clean(self):
        """Every refusal at once: the service's rules (phone, email, a way to reach the lead) are checked here too,
        so a missing name and a bad phone are both said on the first submit."""
        data = super().clean()
        typed = {name: data[name] if name in data else self.data.get(name, "") for name in self.fields}
        # Tags the form refused are said on their field already.
        typed["tags"] = data.get("tags") or []
        try:
            # A value the lead already has stays allowed even when it is outside the company's lists.
            current = SimpleNamespace(
                **{kind: self.initial.get(kind) or "" for kind in ("region", "industry", "source")}
            )
            clean_lead_data(self.user.tenant, typed, current=current)
        except DomainError as exc:
            for field, message in exc.errors:
                if field not in self.errors:
                    self.add_error(field if field in self.fields else None, message)
        return data

    def lead_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "owner" and not k.startswith(FORM_PREFIX)}
        custom = self.custom_data()
        if custom is not None:
            data["custom"] = custom
        return data

    def chosen_owner(self):
        """The chosen owner; None = unassigned; the user when the form offers no choice."""
        if "owner" not in self.fields:
            return self.user
        value = self.cleaned_data.get("owner") or str(self.user.pk)
        if value == UNASSIGNED:
            return None
        return self.owners.get(value, self.user)


class LeadStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[(s.value, s.label) for s in SETTABLE_STATUSES])
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class LeadAssignForm(forms.Form):
    # Each rep with the customers they hold against the company's cap: a converted lead becomes one of them.
    owner = RepWithHoldingsField(label=_("Give to"), queryset=User.objects.none(), empty_label=None)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = sales_assignable_users(user).order_by("full_name", "pk")


class LeadBulkAssignForm(LeadAssignForm):
    leads = forms.ModelMultipleChoiceField(queryset=Lead.objects.none(), widget=forms.MultipleHiddenInput)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["leads"].queryset = Lead.objects.visible_to(user)
        self.fields["leads"].error_messages["invalid_choice"] = _("Choose leads you can see.")
        self.fields["leads"].error_messages["required"] = _("Choose at least one lead.")


class LeadRevealForm(forms.Form):
    field = forms.ChoiceField(choices=[("phone", _("phone")), ("email", _("email")), ("wechat", _("WeChat ID"))])
