"""Forms of the pipeline settings: a pipeline, a new one, a stage."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class PipelineForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("In use (on the board and for new opportunities)"), required=False)


class NewPipelineForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("It starts with the usual stages; rename and adjust them.")
    )


class StageForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    probability = forms.IntegerField(label=_("Win probability (%)"), required=False)

    def __init__(self, *args, closed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if closed:
            del self.fields["probability"]
        else:
            self.fields["probability"].required = True
