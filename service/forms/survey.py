"""The survey forms: the contact's answer on the public page, the results page's filters, an NPS round."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.registry import registry
from crm.savedviews.models import SavedView
from service.services.survey import COMMENT_MAX

# The saved views of the customer list (crm.savedviews names lists by their URL name).
CUSTOMER_LIST = "customers:list"


class CsatAnswerForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How satisfied are you with our help?"),
        choices=[
            (5, _("5 · Very satisfied")),
            (4, _("4 · Satisfied")),
            (3, _("3 · Neutral")),
            (2, _("2 · Unsatisfied")),
            (1, _("1 · Very unsatisfied")),
        ],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything you want to tell us? (optional)"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class NpsAnswerForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("How likely are you to recommend us to a friend or colleague? (0 = not at all, 10 = extremely)"),
        choices=[(n, str(n)) for n in range(11)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("What is the main reason for your score? (optional)"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class NpsRoundForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    audience = forms.ChoiceField(
        label=_("Customers: a segment"),
        required=False,
        help_text=_("A segment's customers (those you see); when one is chosen, the filters below are not used."),
    )
    saved_view = forms.ModelChoiceField(
        label=_("Customers: a saved view of the customer list"),
        queryset=SavedView.objects.none(),
        required=False,
        empty_label=_("All customers"),
    )
    query = forms.CharField(
        label=_("Or the customer list's filters"),
        required=False,
        max_length=2000,
        help_text=_("Filter the customer list, then paste its address here (or the part after “?”)."),
    )
    days = forms.IntegerField(label=_("Days the link stays valid"), min_value=1, max_value=90, initial=14)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["saved_view"].queryset = SavedView.objects.visible_to(user).filter(list_name=CUSTOMER_LIST)
        # The audiences higher apps offer (marketing's segments), through the registry: "<key>:<id>" values,
        # grouped by kind; the field is left out when there is nothing to choose.
        groups = [
            (str(source.label), [(f"{source.key}:{ident}", label) for ident, label in source.choices(user)])
            for source in registry.customer_audiences()
        ]
        groups = [group for group in groups if group[1]]
        if groups:
            self.fields["audience"].choices = [("", _("None: use the filters below")), *groups]
        else:
            del self.fields["audience"]

    def audience_query(self) -> str:
        """The customer-list filters as a query string: the saved view's, else the pasted address's."""
        view = self.cleaned_data.get("saved_view")
        if view is not None:
            return view.query
        query = (self.cleaned_data.get("query") or "").strip()
        return urlsplit(query).query if "?" in query else query.lstrip("?")
