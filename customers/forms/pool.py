"""Forms of the public pool: release, assign, a pool's settings and rules, the rule simulation."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.access import assignable_users
from crm.models import Role, Team, User
from customers.forms.holdings import RepWithHoldingsField
from customers.models import Pool, PoolLevelRule, PoolTeam

RELEASE_REASONS = [
    ("no_interest", gettext_lazy("No interest for now")),
    ("unreachable", gettext_lazy("Cannot be reached")),
    ("not_target", gettext_lazy("Not a customer for us")),
    ("competitor", gettext_lazy("Went to a competitor")),
    ("other", gettext_lazy("Other (say why below)")),
]


class ReleaseForm(forms.Form):
    """Release one or many of one's customers: into which pool (the home pool preselected; one pool per release),
    and why — a reason from the list, with words of one's own (required for "other")."""

    pool = forms.ModelChoiceField(label=gettext_lazy("Into the pool"), queryset=Pool.objects.none())
    reason_choice = forms.ChoiceField(
        label=gettext_lazy("Why release it?"), choices=[("", "—"), *RELEASE_REASONS], required=False
    )
    reason = forms.CharField(
        label=gettext_lazy("In your own words"),
        max_length=400,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, pools, home_pool: Pool | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pool"].queryset = pools
        # Nothing chosen: each customer goes back to its own home pool.
        self.fields["pool"].required = False
        if home_pool is not None:
            self.fields["pool"].initial = home_pool.pk
            self.fields["pool"].empty_label = None
        else:
            self.fields["pool"].empty_label = _("Each customer's home pool")

    def clean(self):
        data = super().clean()
        choice, words = data.get("reason_choice"), (data.get("reason") or "").strip()
        if not choice and not words:
            self.add_error("reason_choice", _("Say why you release this customer."))
        elif choice == "other" and not words:
            self.add_error("reason", _("Say why in a few words."))
        return data

    def release_reason(self) -> str:
        """The reason as the ownership history shows it: the listed reason, then the rep's words."""
        label = dict(RELEASE_REASONS).get(self.cleaned_data.get("reason_choice"))
        words = (self.cleaned_data.get("reason") or "").strip()
        if self.cleaned_data.get("reason_choice") == "other":
            label = None
        return " — ".join(str(part) for part in (label, words) if part)


class AssignForm(forms.Form):
    rep = RepWithHoldingsField(label=gettext_lazy("Assign to"), queryset=User.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rep"].queryset = assignable_users(user).with_role(Role.REP)


class PoolForm(forms.ModelForm):
    teams = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Teams that see it (and their sub-teams)"),
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    max_customers_per_rep = forms.IntegerField(
        label=gettext_lazy("Customers one rep may hold (whole company)"), min_value=1, required=False
    )

    class Meta:
        model = Pool
        fields = [
            "name",
            "is_default",
            "receives_deactivated",
            "no_followup_days",
            "no_deal_days",
            "no_contract_days",
            "exempt_key_accounts",
            "exempt_recent_deal_days",
            "warn_days_before",
            "extension_days",
            "max_claims_per_day",
            "reclaim_cooldown_days",
            "daily_view_limit",
        ]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["teams"].queryset = Team.objects.for_tenant(tenant)
        self.fields["max_customers_per_rep"].initial = tenant.max_customers_per_rep
        if self.instance.pk:
            self.fields["teams"].initial = list(
                PoolTeam.objects.filter(pool=self.instance).values_list("team_id", flat=True)
            )
            if self.instance.is_default:
                self.fields["is_default"].disabled = True

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Pool.objects.for_tenant(self.tenant).filter(name=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("A pool with this name already exists."))
        return name

    def clean(self):
        data = super().clean()
        warn = data.get("warn_days_before")
        rules = [d for d in (data.get("no_followup_days"), data.get("no_deal_days"), data.get("no_contract_days")) if d]
        shortest = min(rules) if rules else 0
        if warn and shortest and warn >= shortest:
            self.add_error("warn_days_before", _("Warn fewer days ahead than the shortest rule gives."))
        return data


def level_rule_rows(levels, pool: Pool | None, data) -> list[dict]:
    """One editable row per customer level: its own days without follow-up / without a deal / after the last
    contract ended, or empty."""
    existing = {r.level_id: r for r in PoolLevelRule.objects.filter(pool=pool)} if pool else {}
    rows = []
    for level in levels:
        row = {"level": level, "error": "", "followup": "", "deal": "", "contract": ""}
        if data is not None:
            for key in ("followup", "deal", "contract"):
                field = f"level_{level.pk}_{key}"
                raw = (data.get(field) or "").strip()
                row[key] = raw
                if raw and (not (raw.isascii() and raw.isdigit()) or int(raw) < 1 or int(raw) > 3650):
                    row["error"] = _("Use a whole number of days between 1 and 3650, or leave it empty.")
        elif level.pk in existing:
            rule = existing[level.pk]
            row["followup"] = rule.no_followup_days or ""
            row["deal"] = rule.no_deal_days or ""
            row["contract"] = rule.no_contract_days or ""
        rows.append(row)
    return rows


SIMULATED_FIELDS = [
    "no_followup_days",
    "no_deal_days",
    "no_contract_days",
    "exempt_key_accounts",
    "exempt_recent_deal_days",
]


class PoolSimulationForm(forms.Form):
    """The pool form's rule values, validated exactly as the pool form validates them, for the simulation: the
    values on the screen, never saved."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(forms.fields_for_model(Pool, fields=[*SIMULATED_FIELDS, "warn_days_before"]))
        # An empty warning window in a half-typed form simulates no early warnings, rather than refusing to run.
        self.fields["warn_days_before"].required = False


class ViewQuotaForm(forms.Form):
    """A daily quota of pool customers to open: for the holders of a role, or the members of a team (and its
    sub-teams)."""

    role = forms.ChoiceField(label=gettext_lazy("Role"), required=False)
    team = forms.ModelChoiceField(
        label=gettext_lazy("Or a team (its sub-teams included)"), queryset=Team.objects.none(), required=False
    )
    daily_limit = forms.IntegerField(label=gettext_lazy("Pool customers a day"), min_value=1, max_value=10000)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [
            ("", "—"),
            (Role.REP.value, Role.REP.label),
            (Role.MANAGER.value, Role.MANAGER.label),
        ]
        self.fields["team"].queryset = Team.objects.for_tenant(tenant)

    def clean(self):
        data = super().clean()
        if bool(data.get("role")) == bool(data.get("team")):
            self.add_error("team", _("Choose a role or a team."))
        return data
