"""The region, industry and source pickers of the customer and lead forms, and Settings → Value lists' forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from crm.models import Tenant
from customers.models import ChoiceKind
from customers.selectors.choice_list import ChoiceLookup


def use_value_lists(form: forms.Form, tenant: Tenant) -> None:
    """Turn the form's region, industry and source fields into the company's pickers: a select of the offered
    values when the list accepts nothing else (the record's current value outside the list stays selectable),
    suggestions on a text field when it accepts other values, plain text when the list is empty."""
    lookup = ChoiceLookup(tenant)
    datalists: dict[str, list[str]] = {}
    for kind in ChoiceKind.values:
        field = form.fields.get(kind)
        if field is None or not lookup.in_use(kind):
            continue
        options = lookup.options(kind)
        if lookup.allow_other(kind):
            field.widget.attrs["list"] = f"{kind}-options"
            datalists[f"{kind}-options"] = [value for value, _label in options]
            continue
        current = str(form.initial.get(kind) or "").strip()
        choices = [("", "—"), *options]
        if current and current not in {value for value, _label in options}:
            choices.append((current, _("%(value)s (not in the list)") % {"value": current}))
        form.fields[kind] = forms.ChoiceField(
            label=field.label, required=field.required, choices=choices, help_text=field.help_text
        )
    form.datalists = datalists


class ChoiceEntryForm(forms.Form):
    value = forms.CharField(
        label=pgettext_lazy("list value", "Value"),
        max_length=50,
        help_text=gettext_lazy("What customers and leads store; it cannot change later."),
    )
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=50, required=False)
    aliases = forms.CharField(
        label=gettext_lazy("Aliases"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("Other spellings imports map to this value, separated by commas (e.g. 广东, 广州)."),
    )
    order = forms.IntegerField(
        label=pgettext_lazy("position in a list", "Order"), min_value=0, max_value=999, initial=0, required=False
    )
    active = forms.BooleanField(label=gettext_lazy("Offered in the pickers"), required=False, initial=True)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["value"]

    def cleaned_aliases(self) -> list[str]:
        raw = self.cleaned_data.get("aliases") or ""
        return [a for a in raw.replace("，", ",").split(",") if a.strip()]


class ChoiceListForm(forms.Form):
    allow_other = forms.BooleanField(
        label=gettext_lazy("Accept values outside the list"),
        required=False,
        help_text=gettext_lazy(
            "On: the forms suggest the list and accept any text, and imports keep unknown values as they are. "
            "Off: only the list's values, and imports refuse an unknown value with its reason."
        ),
    )


class ChoiceMapForm(forms.Form):
    from_value = forms.CharField(max_length=50, widget=forms.HiddenInput)
    entry = forms.TypedChoiceField(label=gettext_lazy("Map to"), coerce=int, choices=())

    def __init__(self, *args, entries=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entry"].choices = [("", "—"), *((e.pk, e.value) for e in entries)]
