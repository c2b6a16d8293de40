"""The form that adds campaign members by hand: the people ticked among a search's results, and their status."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.forms import SearchForm
from marketing.models import CampaignMember


class PersonChoiceField(forms.MultipleChoiceField):
    """Ticked people as "contact:<id>" or "lead:<id>" (the options come from a search, so any well-formed value is
    accepted here; the service checks that each is someone the user sees)."""

    def valid_value(self, value) -> bool:
        kind, _sep, pk = str(value).partition(":")
        return kind in ("contact", "lead") and pk.isdigit() and 0 < len(pk) < 19


class MemberPickForm(forms.Form):
    people = PersonChoiceField(label=_("People"), error_messages={"required": _("Pick at least one person to add.")})
    status = forms.ChoiceField(
        label=_("Status"), choices=CampaignMember.Status.choices, initial=CampaignMember.Status.INVITED
    )

    def ids(self, kind: str) -> list[int]:
        return [int(value.partition(":")[2]) for value in self.cleaned_data["people"] if value.startswith(f"{kind}:")]


class MemberSearchForm(SearchForm):
    """The search box of "Add members" (`q`)."""
