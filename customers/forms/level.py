"""Settings → Customer levels and tags: the forms of one level and one tag."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.services.tag import TAG_COLORS


class LevelForm(forms.Form):
    code = forms.CharField(label=pgettext_lazy("customer level", "Code"), max_length=10)
    name = forms.CharField(label=_("Name"), max_length=50, required=False)
    aliases = forms.CharField(
        label=_("Aliases"),
        max_length=500,
        required=False,
        help_text=_("Other words for this level in imported files, separated by commas (e.g. 重点客户, VIP)."),
    )
    order = forms.IntegerField(
        label=pgettext_lazy("position in a list", "Order"), min_value=0, max_value=999, initial=0, required=False
    )

    def cleaned_aliases(self) -> list[str]:
        raw = self.cleaned_data.get("aliases") or ""
        return [a for a in raw.replace("，", ",").split(",") if a.strip()]


TAG_COLOR_LABELS = {
    "secondary": _("Grey"),
    "primary": _("Blue"),
    "success": _("Green"),
    "danger": _("Red"),
    "warning": _("Yellow"),
    "info": _("Cyan"),
    "dark": _("Black"),
}


class TagForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    color = forms.ChoiceField(label=_("Colour"), choices=[(c, TAG_COLOR_LABELS[c]) for c in TAG_COLORS])
