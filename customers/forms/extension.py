"""An extension request."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy


class ExtensionRequestForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why do you need more time?"), max_length=500)
