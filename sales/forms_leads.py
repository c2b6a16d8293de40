"""Forms of the leads: entering and editing a lead, its status, assignment and conversion; the scoring rules and
the web form settings; and the public form itself (with its honeypot and timing token).

Forms parse and offer only choices the user may use; the services in sales.leads hold the rules and check again.
"""

from __future__ import annotations

from django import forms
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.access import assignable_users
from crm.models import User
from customers.forms.customer import INDUSTRIES, SOURCES
from customers.models import Customer

from .forms import CustomerChoiceField, DateInput, UserChoiceField
from .leads import SETTABLE_STATUSES, is_lead_manager
from .models import (
    Lead,
    LeadScoringRule,
    LeadWebForm,
    Pipeline,
    ScoringCondition,
    ScoringField,
    Stage,
    StageKind,
    WebFormField,
    order_currencies,
)

UNASSIGNED = "none"


def _datalists(form: forms.Form) -> None:
    for name in ("industry", "source"):
        if name in form.fields:
            form.fields[name].widget.attrs["list"] = f"{name}-options"
    form.datalists = {"industry-options": INDUSTRIES, "source-options": SOURCES}


class LeadForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False, help_text=_("Mobile or landline."))
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    wechat = forms.CharField(label=_("WeChat ID"), max_length=64, required=False)
    region = forms.CharField(label=_("Region"), max_length=50, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=50, required=False)
    source = forms.CharField(label=_("Source"), max_length=50, required=False)
    campaign = forms.CharField(label=_("Campaign"), max_length=100, required=False)
    message = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)

    def __init__(self, *args, user: User, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        _datalists(self)
        if not creating or not is_lead_manager(user):
            del self.fields["owner"]
            return
        self.owners = {str(u.pk): u for u in assignable_users(user).order_by("full_name", "pk")}
        choices = [(str(user.pk), _("Me (%(name)s)") % {"name": user.full_name or user.email})]
        choices += [(pk, u.full_name or u.email) for pk, u in self.owners.items() if u.pk != user.pk]
        choices.append((UNASSIGNED, _("Nobody yet (hand out later)")))
        self.fields["owner"].choices = choices
        self.fields["owner"].initial = str(user.pk)

    def lead_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "owner"}

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
    owner = UserChoiceField(label=_("Give to"), queryset=User.objects.none(), empty_label=None)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_users(user).order_by("full_name", "pk")


class LeadBulkAssignForm(LeadAssignForm):
    leads = forms.ModelMultipleChoiceField(queryset=Lead.objects.none(), widget=forms.MultipleHiddenInput)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["leads"].queryset = Lead.objects.visible_to(user)
        self.fields["leads"].error_messages["invalid_choice"] = _("Choose leads you can see.")
        self.fields["leads"].error_messages["required"] = _("Choose at least one lead.")


def stage_choices(tenant, *, open_only: bool = True) -> list:
    """Stages grouped by pipeline (pipelines in use, stages in use), for a select with optgroups."""
    stages = Stage.objects.filter(tenant=tenant, is_active=True, pipeline__is_active=True).select_related("pipeline")
    if open_only:
        stages = stages.filter(kind=StageKind.OPEN)
    groups: dict[int, tuple[str, list]] = {}
    for stage in stages.ordered().order_by("pipeline__position", "pipeline_id"):
        groups.setdefault(stage.pipeline_id, (stage.pipeline.name, []))[1].append((str(stage.pk), stage.name))
    return [(label, options) for label, options in groups.values()]


class StageChoiceField(forms.ChoiceField):
    """A stage of the tenant (the service checks it belongs to the chosen pipeline)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = None

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        stage = Stage.objects.filter(tenant=self.tenant, pk=value).select_related("pipeline").first()
        if stage is None:
            raise forms.ValidationError(_("Choose a stage of the chosen pipeline."))
        return stage

    def valid_value(self, value):
        # Any id the service can judge: a stage of another pipeline gets the service's message, not "invalid".
        return str(value).isdigit()


class LeadConvertForm(forms.Form):
    NEW, EXISTING = "new", "existing"

    mode = forms.ChoiceField(
        label=_("The lead becomes"),
        choices=[(NEW, _("A new customer")), (EXISTING, _("A contact of an existing customer"))],
        widget=forms.RadioSelect,
        initial=NEW,
    )
    customer_name = forms.CharField(label=_("Customer name"), max_length=200, required=False)
    customer_kind = forms.ChoiceField(label=_("Type"), choices=Customer.Kind.choices, required=False)
    customer = CustomerChoiceField(label=_("Existing customer"), required=False)
    create_opportunity = forms.BooleanField(label=_("Also open an opportunity"), required=False, initial=True)
    opportunity_name = forms.CharField(label=_("Opportunity"), max_length=200, required=False)
    opportunity_pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.none(), required=False, empty_label=None
    )
    opportunity_stage = StageChoiceField(label=_("Stage"), required=False)
    opportunity_amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, required=False)
    opportunity_currency = forms.ChoiceField(label=_("Currency"), required=False)
    opportunity_expected_close_date = forms.DateField(label=_("Expected close date"), required=False, widget=DateInput)

    def __init__(self, *args, user: User, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        tenant = user.tenant
        self.fields["customer"].queryset = Customer.objects.editable_by(user)
        self.fields["opportunity_pipeline"].queryset = Pipeline.objects.filter(tenant=tenant, is_active=True)
        self.fields["opportunity_stage"].tenant = tenant
        self.fields["opportunity_stage"].choices = [("", _("— first stage —")), *stage_choices(tenant)]
        self.fields["opportunity_currency"].choices = [(c, c) for c in order_currencies(tenant)]

    def clean(self):
        data = super().clean()
        if data.get("mode") == self.EXISTING and not data.get("customer"):
            self.add_error("customer", _("Choose the customer the lead belongs to."))
        if data.get("create_opportunity") and not data.get("opportunity_name"):
            self.add_error("opportunity_name", _("Give the opportunity a name."))
        return data


class ScoringRuleForm(forms.Form):
    field = forms.ChoiceField(label=_("Field"), choices=ScoringField.choices)
    condition = forms.ChoiceField(label=_("Condition"), choices=ScoringCondition.choices)
    value = forms.CharField(
        label=_("Value"),
        max_length=200,
        required=False,
        help_text=_("For “is one of”, separate the values with commas. Comparisons ignore case."),
    )
    points = forms.IntegerField(label=_("Points"), help_text=_("Negative points lower the score."))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @classmethod
    def for_rule(cls, rule: LeadScoringRule, data=None):
        return cls(
            data,
            initial={
                "field": rule.field,
                "condition": rule.condition,
                "value": rule.value,
                "points": rule.points,
                "is_active": rule.is_active,
            },
        )


class WebFormSettingsForm(forms.Form):
    is_enabled = forms.BooleanField(label=_("Published: visitors can send it"), required=False)
    title = forms.CharField(label=_("Heading"), max_length=200)
    intro = forms.CharField(label=_("Introduction"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    fields_ = forms.MultipleChoiceField(
        label=_("Fields the form asks for"),
        choices=WebFormField.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The name is always asked for; ask for a phone number or an email too."),
    )
    required_fields = forms.MultipleChoiceField(
        label=_("Fields visitors must fill in"),
        choices=WebFormField.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    thank_you = forms.CharField(label=_("Thank-you message"), widget=forms.Textarea(attrs={"rows": 2}))
    owner = UserChoiceField(
        label=_("New leads go to"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody: managers hand them out"),
    )
    source = forms.CharField(label=_("Source of its leads"), max_length=50, required=False)
    campaign = forms.CharField(
        label=_("Campaign"),
        max_length=100,
        required=False,
        help_text=_("A link with ?utm_campaign=… overrides it per visit."),
    )

    def __init__(self, *args, user: User, web_form: LeadWebForm, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "is_enabled": web_form.is_enabled,
                "title": web_form.title,
                "intro": web_form.intro,
                "fields_": web_form.fields,
                "required_fields": web_form.required_fields,
                "thank_you": web_form.thank_you,
                "owner": web_form.owner,
                "source": web_form.source,
                "campaign": web_form.campaign,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            User.objects.for_tenant(user.tenant).filter(is_active=True).order_by("full_name")
        )
        self.fields["fields_"].widget.attrs["data-testid"] = "form-fields"


# --- the public form -----------------------------------------------------------------------------------------

TOKEN_SALT = "sales.public-lead-form"
HONEYPOT = "homepage"

PUBLIC_FIELDS = {
    WebFormField.NAME: lambda: forms.CharField(label=_("Your name"), max_length=100),
    WebFormField.COMPANY: lambda: forms.CharField(label=_("Company"), max_length=200),
    WebFormField.TITLE: lambda: forms.CharField(label=_("Job title"), max_length=100),
    WebFormField.PHONE: lambda: forms.CharField(
        label=_("Phone"), max_length=40, widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"})
    ),
    WebFormField.EMAIL: lambda: forms.CharField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    ),
    WebFormField.WECHAT: lambda: forms.CharField(label=_("WeChat ID"), max_length=64),
    WebFormField.REGION: lambda: forms.CharField(label=_("City or region"), max_length=50),
    WebFormField.INDUSTRY: lambda: forms.CharField(label=_("Industry"), max_length=50),
    WebFormField.MESSAGE: lambda: forms.CharField(
        label=_("How can we help?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    ),
}


def issue_token(tenant_id: int, at: float | None = None) -> str:
    """A signed note of when the form was shown, and for which tenant: the minimum fill time is measured from it."""
    stamp = timezone.now().timestamp() if at is None else at
    return signing.dumps({"t": tenant_id, "at": round(stamp, 3)}, salt=TOKEN_SALT)


def read_token(token: str, tenant_id: int) -> float | None:
    """When the form was shown, or None for a missing, forged or other tenant's token."""
    try:
        payload = signing.loads(token or "", salt=TOKEN_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("t") != tenant_id:
        return None
    try:
        return float(payload["at"])
    except (KeyError, TypeError, ValueError):
        return None


class PublicLeadForm(forms.Form):
    """The fields the admin chose, a honeypot that people never see, and the timing token."""

    def __init__(self, *args, web_form: LeadWebForm, **kwargs):
        super().__init__(*args, **kwargs)
        required = set(web_form.required_fields) | {"name"}
        for key in [f for f in WebFormField.values if f in web_form.fields]:
            field = PUBLIC_FIELDS[key]()
            field.required = key in required
            self.fields[key] = field
        self.fields[HONEYPOT] = forms.CharField(
            required=False,
            label=_("Leave this field empty"),
            widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
        )
        self.fields["ts"] = forms.CharField(required=False, widget=forms.HiddenInput)
        self.fields["utm_campaign"] = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
        self.fields["utm_source"] = forms.CharField(required=False, max_length=50, widget=forms.HiddenInput)

    def visible_lead_fields(self):
        return [self[name] for name in self.fields if name in WebFormField.values]

    def lead_data(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k in WebFormField.values}
