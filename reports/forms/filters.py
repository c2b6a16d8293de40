"""The filters every dashboard carries in its URL: period (a preset or custom dates), team (with its sub-teams), rep
and pipeline. Choices are scoped to what the user may see, so an altered URL cannot widen the report."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from crm.access import sales_assignable_users
from crm.forms import BoundedDateField
from crm.models import Role, Team, User
from crm.workcalendar.selectors import local_today
from reports.selectors.scope import PERIOD_PRESETS, ReportScope, preset_bounds
from sales.models import Pipeline

MAX_DAYS = 3 * 366


def scoped_teams(user):
    """The teams whose figures `user` may filter by: an admin every team, a manager the teams they manage (and those
    under them), a rep none."""
    if user.has_any_role(Role.ADMIN):
        return Team.objects.filter(tenant_id=user.tenant_id)
    if user.has_any_role(Role.MANAGER):
        return Team.objects.managed_by(user)
    return Team.objects.none()


class ReportFilterForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PERIOD_PRESETS, required=False)
    start = BoundedDateField(
        label=pgettext_lazy("start of a period", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = BoundedDateField(
        label=pgettext_lazy("end of a period", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    team = forms.ModelChoiceField(label=gettext_lazy("Team"), queryset=Team.objects.none(), required=False)
    rep = forms.ModelChoiceField(label=gettext_lazy("Rep"), queryset=User.objects.none(), required=False)
    pipeline = forms.ModelChoiceField(label=gettext_lazy("Pipeline"), queryset=Pipeline.objects.none(), required=False)

    def __init__(self, *args, user, default_period: str = "month", now: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.default_period = default_period
        self.today = local_today(user.tenant, now)
        self.fields["team"].queryset = scoped_teams(user).order_by("path")
        self.fields["rep"].queryset = sales_assignable_users(user).order_by("full_name", "pk")
        self.fields["pipeline"].queryset = Pipeline.objects.filter(tenant_id=user.tenant_id).order_by("position", "pk")
        self.fields["team"].label_from_instance = lambda team: "\u2003" * team.depth + team.name
        for name, field in self.fields.items():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)
            field.widget.attrs.setdefault("data-testid", f"filter-{name}")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        preset = data.get("period") or ("custom" if data.get("start") or data.get("end") else self.default_period)
        if preset == "custom":
            end = data.get("end") or self.today
            start = data.get("start") or end.replace(day=1)
            if start > end:
                self.add_error("start", _("The period starts after it ends."))
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error("start", _("Choose a period of at most %(days)d days.") % {"days": MAX_DAYS})
        else:
            start, end = preset_bounds(preset, self.today)
        data["period"], data["start"], data["end"] = preset, start, end
        return data

    def scope(self) -> ReportScope:
        """The report's scope; the defaults when the form is unbound or invalid."""
        if self.is_bound and self.is_valid():
            data = self.cleaned_data
            return ReportScope.of(
                self.user,
                preset=data["period"],
                start=data["start"],
                end=data["end"],
                team=data.get("team"),
                rep=data.get("rep"),
                pipeline=data.get("pipeline"),
            )
        start, end = preset_bounds(self.default_period, self.today)
        return ReportScope.of(self.user, preset=self.default_period, start=start, end=end)


def scope_query(scope: ReportScope, **overrides) -> str:
    """The query string that reproduces `scope` (for links, the PDF and subscriptions)."""
    params = scope.params()
    params.update({k: v for k, v in overrides.items() if v is not None})
    return urlencode({k: v for k, v in params.items() if v not in ("", None)})
