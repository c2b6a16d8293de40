"""Widgets and fields the sales forms share: local date-times, the customer and user pickers."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import QueryForm
from crm.models import User
from customers.models import Customer
from sales.models import Product, Stage, StageKind

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


def stage_choices(tenant, *, open_only: bool = True) -> list:
    """Stages grouped by pipeline (pipelines in use, stages in use), for a select with optgroups."""
    stages = Stage.objects.filter(tenant=tenant, is_active=True, pipeline__is_active=True).select_related("pipeline")
    if open_only:
        stages = stages.filter(kind=StageKind.OPEN)
    groups: dict[int, tuple[str, list]] = {}
    # Pipelines in their order and, within each, the stages in board order (a stable sort keeps the latter).
    for stage in sorted(stages.ordered(), key=lambda s: (s.pipeline.position, s.pipeline_id)):
        groups.setdefault(stage.pipeline_id, (stage.pipeline.name, []))[1].append((str(stage.pk), stage.name))
    return [(label, options) for label, options in groups.values()]


class StageSelect(forms.Select):
    """A stage select whose options say their pipeline (`data-pipeline`): static/js/sales/stages.js shows only the
    stages of the pipeline chosen in the field named by `data-stages-of`, in their order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pipelines: dict[str, int] = {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if str(value) in self.pipelines:
            option["attrs"]["data-pipeline"] = str(self.pipelines[str(value)])
        return option


class StageChoiceField(forms.ChoiceField):
    """A stage of the tenant (the service checks it belongs to the chosen pipeline)."""

    widget = StageSelect

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = None

    def set_stages(self, tenant, *, pipeline_field: str, first_label=None, open_only: bool = True) -> None:
        """The tenant's stages, grouped by pipeline in order, each option marked with its pipeline so the page
        shows only those of the pipeline chosen in `pipeline_field`."""
        self.tenant = tenant
        choices = stage_choices(tenant, open_only=open_only)
        self.choices = ([("", first_label)] if first_label is not None else []) + choices
        stages = Stage.objects.filter(tenant=tenant, is_active=True)
        self.widget.pipelines = {str(pk): pipeline for pk, pipeline in stages.values_list("pk", "pipeline_id")}
        self.widget.attrs["data-stages-of"] = pipeline_field

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
        return str(value).isascii() and str(value).isdigit()


class CustomerParamForm(QueryForm):
    """The `customer=<id>` that pre-selects a customer (new task, order, appointment, the pickers): one of
    `queryset` (the customers the user may see, or change), else none."""

    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), required=False)

    def __init__(self, data, *, queryset):
        super().__init__(data)
        self.fields["customer"].queryset = queryset


class ProductChoiceField(forms.ModelChoiceField):
    """A product of the user's catalogue (scoped by the form set); anything else gets the same message."""

    default_error_messages = {"invalid_choice": _("Choose a product of your catalogue.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Product.objects.none())
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def label_from_instance(self, obj: Product) -> str:
        return f"{obj.code} · {obj.name}"


class ProductLineFormSet(forms.BaseFormSet):
    """Line form sets whose lines pick products: `products` (the user's catalogue) scopes every line's choice."""

    def __init__(self, *args, products=None, **kwargs):
        self.products = products if products is not None else Product.objects.none()
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "products": self.products}

    @property
    def empty_form(self):
        form = self.form(auto_id=self.auto_id, prefix=self.add_prefix("__prefix__"), products=self.products)
        self.add_fields(form, None)
        return form
