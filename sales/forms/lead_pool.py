"""Forms of the lead pools: release (the pool chosen), assign, a pool's settings with its rules per source, product
line and tag."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import sales_assignable_users
from crm.forms import QueryForm
from crm.models import Team, User
from customers.models import ExtensionRequest, Tag
from sales.models import LeadPool, LeadPoolRule, Product
from sales.services.lead_pool import POOL_FIELDS


class LeadReleaseForm(forms.Form):
    pool = forms.ModelChoiceField(label=gettext_lazy("Lead pool"), queryset=LeadPool.objects.none(), empty_label=None)
    reason = forms.CharField(
        label=gettext_lazy("Why release it?"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, user: User, lead, **kwargs):
        super().__init__(*args, **kwargs)
        pools = LeadPool.objects.visible_to(user)
        self.fields["pool"].queryset = pools
        # The lead's home pool preselected, else the default one.
        home = lead.pool_id if lead.pool_id and pools.filter(pk=lead.pool_id).exists() else None
        self.fields["pool"].initial = home or pools.filter(is_default=True).values_list("pk", flat=True).first()


class LeadPoolAssignForm(forms.Form):
    rep = forms.ModelChoiceField(label=gettext_lazy("Assign to"), queryset=User.objects.none())

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = sales_assignable_users(user).order_by("full_name")


class LeadPoolForm(forms.ModelForm):
    teams = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Teams that see it (and their sub-teams)"),
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = LeadPool
        fields = list(POOL_FIELDS)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = Team.objects.for_tenant(tenant)
        if self.instance.pk:
            self.fields["teams"].initial = list(self.instance.teams.values_list("pk", flat=True))


class SourceRuleForm(forms.Form):
    source = forms.CharField(label=gettext_lazy("Lead source"), max_length=50, required=False)
    no_followup_days = forms.IntegerField(label=gettext_lazy("Days without follow-up"), min_value=1, required=False)
    no_conversion_days = forms.IntegerField(label=gettext_lazy("Days without conversion"), min_value=1, required=False)


SourceRuleFormSet = forms.formset_factory(SourceRuleForm, extra=2, max_num=30, absolute_max=30)


def source_rule_formset(pool: LeadPool | None, data=None) -> forms.BaseFormSet:
    initial = []
    if pool is not None and pool.pk:
        initial = [
            {"source": r.source, "no_followup_days": r.no_followup_days, "no_conversion_days": r.no_conversion_days}
            for r in LeadPoolRule.objects.filter(pool=pool).exclude(source="")
        ]
    return SourceRuleFormSet(data, initial=initial, prefix="rules")


def source_rules_of(formset: forms.BaseFormSet) -> dict[str, tuple[int | None, int | None]]:
    """The valid formset's rules by source (rows without a source or without a number are left out)."""
    rules = {}
    for form in formset.forms:
        data = form.cleaned_data
        source = (data.get("source") or "").strip()
        if source and (data.get("no_followup_days") or data.get("no_conversion_days")):
            rules[source] = (data.get("no_followup_days"), data.get("no_conversion_days"))
    return rules


def check_source_rules(formset: forms.BaseFormSet) -> None:
    """A source named twice is an error on the formset."""
    seen = set()
    for form in formset.forms:
        source = (form.cleaned_data.get("source") or "").strip() if form.is_valid() else ""
        if source in seen:
            form.add_error("source", _("This source has a rule already."))
        if source:
            seen.add(source)


class KeyedRuleForm(forms.Form):
    """One row of a pool's rules keyed by a record of the company: a product line or a tag (`key`)."""

    key = "product"
    no_followup_days = forms.IntegerField(label=gettext_lazy("Days without follow-up"), min_value=1, required=False)
    no_conversion_days = forms.IntegerField(label=gettext_lazy("Days without conversion"), min_value=1, required=False)


class ProductRuleForm(KeyedRuleForm):
    key = "product"
    product = forms.ModelChoiceField(
        label=gettext_lazy("Product line"), queryset=Product.objects.none(), required=False
    )
    field_order = ["product"]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(tenant=tenant).order_by("code", "pk")
        self.fields["product"].error_messages["invalid_choice"] = gettext_lazy(
            "Choose a product of your company's catalogue."
        )


class TagRuleForm(KeyedRuleForm):
    key = "tag"
    tag = forms.ModelChoiceField(label=gettext_lazy("Lead tag"), queryset=Tag.objects.none(), required=False)
    field_order = ["tag"]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = Tag.objects.filter(tenant=tenant).order_by("name", "pk")
        self.fields["tag"].error_messages["invalid_choice"] = gettext_lazy("Choose one of your company's tags.")


ProductRuleFormSet = forms.formset_factory(ProductRuleForm, extra=2, max_num=30, absolute_max=30)
TagRuleFormSet = forms.formset_factory(TagRuleForm, extra=2, max_num=30, absolute_max=30)


def _keyed_rule_formset(formset_class, key: str, prefix: str, pool: LeadPool | None, tenant, data):
    initial = []
    if pool is not None and pool.pk:
        initial = [
            {
                key: getattr(r, f"{key}_id"),
                "no_followup_days": r.no_followup_days,
                "no_conversion_days": r.no_conversion_days,
            }
            for r in LeadPoolRule.objects.filter(pool=pool, **{f"{key}__isnull": False})
        ]
    return formset_class(data, initial=initial, prefix=prefix, form_kwargs={"tenant": tenant})


def product_rule_formset(pool: LeadPool | None, tenant, data=None) -> forms.BaseFormSet:
    """The pool's rules per product line (the lead's product), two empty rows to add more."""
    return _keyed_rule_formset(ProductRuleFormSet, "product", "prules", pool, tenant, data)


def tag_rule_formset(pool: LeadPool | None, tenant, data=None) -> forms.BaseFormSet:
    """The pool's rules per lead tag, two empty rows to add more."""
    return _keyed_rule_formset(TagRuleFormSet, "tag", "trules", pool, tenant, data)


def keyed_rules_of(formset: forms.BaseFormSet) -> dict[int, tuple[int | None, int | None]]:
    """The valid formset's rules by product or tag id (rows without one or without a number are left out)."""
    rules = {}
    for form in formset.forms:
        data = form.cleaned_data
        record = data.get(form.key)
        if record is not None and (data.get("no_followup_days") or data.get("no_conversion_days")):
            rules[record.pk] = (data.get("no_followup_days"), data.get("no_conversion_days"))
    return rules


def check_keyed_rules(formset: forms.BaseFormSet) -> None:
    """A product line or a tag named twice is an error on the formset."""
    seen = set()
    for form in formset.forms:
        record = form.cleaned_data.get(form.key) if form.is_valid() else None
        if record is not None and record.pk in seen:
            form.add_error(
                form.key,
                _("This product line has a rule already.")
                if form.key == "product"
                else _("This tag has a rule already."),
            )
        if record is not None:
            seen.add(record.pk)


class LeadExtensionQuery(QueryForm):
    """The filters of the lead extension requests page: status (pending first by default), the rep who asked, the
    lead's pool. A value that is not one of the choices falls back to its default."""

    STATUSES = [
        ("pending", gettext_lazy("Pending")),
        ("decided", gettext_lazy("Decided")),
        ("all", gettext_lazy("All")),
    ]

    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=STATUSES, required=False)
    rep = forms.ModelChoiceField(
        label=gettext_lazy("Asked by"), queryset=User.objects.none(), required=False, empty_label=gettext_lazy("Anyone")
    )
    pool = forms.ModelChoiceField(
        label=gettext_lazy("Lead pool"),
        queryset=LeadPool.objects.none(),
        required=False,
        empty_label=gettext_lazy("All"),
    )
    defaults = {"status": "pending"}

    def __init__(self, data, *, user: User):
        super().__init__(data)
        self.fields["rep"].queryset = sales_assignable_users(user).order_by("full_name", "pk")
        self.fields["pool"].queryset = LeadPool.objects.for_tenant(user.tenant)

    def filter(self, qs):
        status = self.value("status")
        if status == "pending":
            qs = qs.filter(status=ExtensionRequest.Status.PENDING)
        elif status == "decided":
            qs = qs.exclude(status=ExtensionRequest.Status.PENDING)
        if self.value("rep") is not None:
            qs = qs.filter(requested_by=self.value("rep"))
        if self.value("pool") is not None:
            qs = qs.filter(lead__pool=self.value("pool"))
        return qs
