"""Forms of assignment rules: a rule, the tenant's unmatched pool, applying a rule to the backlog."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.forms import QueryForm
from crm.models import Team
from customers.models import (
    AssignmentRule,
    AssignmentRuleLevel,
    AssignmentRuleTag,
    ChoiceKind,
    CustomerLevel,
    Pool,
    Tag,
)
from customers.normalize import nfkc
from customers.selectors.choice_list import ChoiceLookup, unknown_value_message
from customers.services.assignment import MAX_VALUE_LENGTH, MAX_VALUES, RECORD_KINDS, RuleSpec, normalize_value
from customers.services.assignment_backlog import BACKLOG_LIMIT

_SEPARATORS = re.compile(r"[,，、;；\n]+")


class ValuesField(forms.CharField):
    """A list of text values typed as "官网, 展会" (commas, Chinese commas 、，, semicolons or new lines)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def clean(self, value):
        text = super().clean(value)
        values: list[str] = []
        for part in _SEPARATORS.split(text or ""):
            item = nfkc(part)
            if not item:
                continue
            if len(item) > MAX_VALUE_LENGTH:
                raise forms.ValidationError(
                    _("“%(value)s” is longer than %(max)d characters.") % {"value": item, "max": MAX_VALUE_LENGTH}
                )
            if normalize_value(item) not in {normalize_value(v) for v in values}:
                values.append(item)
        if len(values) > MAX_VALUES:
            raise forms.ValidationError(_("List at most %(max)d values.") % {"max": MAX_VALUES})
        return values


class ListValuesField(forms.MultipleChoiceField):
    """Values picked from a value list; an empty pick (a blank option, an empty parameter) is no value."""

    def to_python(self, value):
        return [v for v in super().to_python(value) if v]


class AssignmentRuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    applies_to = forms.ChoiceField(
        label=gettext_lazy("Applies to"),
        choices=AssignmentRule.AppliesTo.choices,
        initial=AssignmentRule.AppliesTo.BOTH,
        help_text=gettext_lazy("New customers (created or imported) and new leads."),
    )
    sources = ValuesField(
        label=gettext_lazy("Source is one of"),
        help_text=gettext_lazy("Separate values with commas. Empty: any source."),
    )
    regions = ValuesField(label=gettext_lazy("Region is one of"), help_text=gettext_lazy("Empty: any region."))
    industries = ValuesField(label=gettext_lazy("Industry is one of"), help_text=gettext_lazy("Empty: any industry."))
    levels = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Level is one of (none ticked: any level)"),
        queryset=CustomerLevel.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    tags = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Has one of these tags (none ticked: any)"),
        queryset=Tag.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    team = forms.ModelChoiceField(label=gettext_lazy("Give to a rep of the team"), queryset=Team.objects.none())
    include_subteams = forms.BooleanField(
        label=gettext_lazy("Include the reps of its sub-teams"), required=False, initial=True
    )
    method = forms.ChoiceField(
        label=gettext_lazy("Which rep"),
        choices=AssignmentRule.Method.choices,
        initial=AssignmentRule.Method.ROUND_ROBIN,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "Round-robin: each rep in turn. Least-loaded: the rep with the fewest customers and open leads. "
            "Inactive reps, reps at the company's cap and reps whose daily quota is used are skipped."
        ),
    )
    daily_quota = forms.IntegerField(
        label=gettext_lazy("Daily quota per rep"),
        min_value=1,
        max_value=10000,
        required=False,
        help_text=gettext_lazy("At most this many records from this rule per rep and day. Empty: no quota."),
    )
    overflow_pool = forms.ModelChoiceField(
        label=gettext_lazy("When no rep of the team can take more"),
        queryset=Pool.objects.none(),
        required=False,
        empty_label=gettext_lazy("— let the next rule try —"),
        help_text=gettext_lazy("Customers go to this pool; leads stay unassigned."),
    )
    # Not saved: which waiting customers the dry run looks at.
    backlog_pool = forms.ModelChoiceField(
        label=gettext_lazy("Dry run on the customers waiting in"),
        queryset=Pool.objects.none(),
        required=False,
        empty_label=gettext_lazy("All pools"),
    )

    RULE_FIELDS = (
        "name",
        "applies_to",
        "sources",
        "regions",
        "industries",
        "levels",
        "tags",
        "team",
        "include_subteams",
        "method",
        "daily_quota",
        "overflow_pool",
    )

    def __init__(self, *args, tenant, rule: AssignmentRule | None = None, **kwargs):
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": rule.name,
                "applies_to": rule.applies_to,
                "sources": rule.sources,
                "regions": rule.regions,
                "industries": rule.industries,
                "levels": list(AssignmentRuleLevel.objects.filter(rule=rule).values_list("level_id", flat=True)),
                "tags": list(AssignmentRuleTag.objects.filter(rule=rule).values_list("tag_id", flat=True)),
                "team": rule.team_id,
                "include_subteams": rule.include_subteams,
                "method": rule.method,
                "daily_quota": rule.daily_quota,
                "overflow_pool": rule.overflow_pool_id,
            }
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.rule = rule
        self.fields["levels"].queryset = CustomerLevel.objects.for_tenant(tenant)
        self.fields["tags"].queryset = Tag.objects.for_tenant(tenant)
        self.fields["team"].queryset = Team.objects.for_tenant(tenant).order_by("path")
        self.fields["overflow_pool"].queryset = Pool.objects.for_tenant(tenant)
        self.fields["backlog_pool"].queryset = Pool.objects.for_tenant(tenant)
        for name in ("sources", "regions", "industries"):
            self.fields[name].widget.attrs["list"] = f"{name}-options"
        self._use_value_lists(tenant, rule)

    def _use_value_lists(self, tenant, rule: AssignmentRule | None) -> None:
        """Region and industry pick from the company's value lists when a list accepts nothing else (a value the
        rule has from before, outside the list, stays selectable); an open list keeps typed values with
        suggestions, resolved to the list's spelling by the service."""
        lookup = ChoiceLookup(tenant)
        for name, kind in (("regions", ChoiceKind.REGION), ("industries", ChoiceKind.INDUSTRY)):
            if not lookup.in_use(kind) or lookup.allow_other(kind):
                continue
            options = lookup.options(kind)
            listed = {value for value, _label in options}
            kept = [v for v in (getattr(rule, name, None) or []) if v not in listed]
            old = self.fields[name]
            field = ListValuesField(
                label=old.label,
                help_text=old.help_text,
                required=False,
                choices=[*options, *((v, _("%(value)s (not in the list)") % {"value": v}) for v in kept)],
                widget=forms.SelectMultiple(attrs={"size": 8}),
            )
            # The value lists' own refusal, with the value filled in by the field.
            field.error_messages["invalid_choice"] = unknown_value_message(kind, "%(value)s")
            self.fields[name] = field

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = AssignmentRule.objects.filter(tenant=self.tenant, name=name)
        if self.rule is not None:
            taken = taken.exclude(pk=self.rule.pk)
        if taken.exists():
            raise forms.ValidationError(_("A rule with this name already exists."))
        return name

    def rule_values(self) -> dict:
        return {k: self.cleaned_data.get(k) for k in self.RULE_FIELDS}

    def spec(self) -> RuleSpec:
        """The rule as the dry run sees it: the values on the form, at the rule's place in the order (a new rule
        comes last)."""
        data = self.cleaned_data
        if self.rule is not None:
            pk, order = self.rule.pk, self.rule.order
        else:
            last = AssignmentRule.objects.filter(tenant=self.tenant).order_by("-order").values_list("order", flat=True)
            pk, order = None, (last.first() or 0) + 1
        return RuleSpec.build(
            pk=pk,
            name=data.get("name") or "",
            order=order,
            applies_to=data["applies_to"],
            team_id=data["team"].pk,
            include_subteams=bool(data.get("include_subteams")),
            method=data["method"],
            daily_quota=data.get("daily_quota"),
            overflow_pool_id=data["overflow_pool"].pk if data.get("overflow_pool") else None,
            sources=data.get("sources") or [],
            regions=data.get("regions") or [],
            industries=data.get("industries") or [],
            level_ids=[level.pk for level in data.get("levels") or []],
            tag_ids=[tag.pk for tag in data.get("tags") or []],
        )

    def dry_run_ready(self) -> bool:
        """Whether the values the dry run needs are valid (the name does not matter to it)."""
        self.is_valid()
        return all(name == "name" for name in self.errors) and "team" in self.cleaned_data


class AssignmentSettingsForm(forms.Form):
    unmatched_pool = forms.ModelChoiceField(
        label=gettext_lazy("New customers no rule places go to"),
        queryset=Pool.objects.none(),
        required=False,
        empty_label=gettext_lazy("The default pool"),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unmatched_pool"].queryset = Pool.objects.for_tenant(tenant)


class BacklogApplyForm(forms.Form):
    """The confirmation of applying a rule to the records its dry run showed."""

    pool = forms.ModelChoiceField(queryset=Pool.objects.none(), required=False, widget=forms.HiddenInput)
    ids = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100_000)
    confirm = forms.BooleanField(
        label=gettext_lazy("Yes, give these records to these reps now."),
        error_messages={"required": gettext_lazy("Tick the box to confirm.")},
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pool"].queryset = Pool.objects.for_tenant(tenant)

    @staticmethod
    def encode(ids: dict[str, list[int]]) -> str:
        return " ".join(f"{kind}:{pk}" for kind, pks in ids.items() for pk in pks)

    def clean_ids(self) -> dict[str, list[int]]:
        ids: dict[str, list[int]] = {}
        for token in (self.cleaned_data.get("ids") or "").split():
            kind, _sep, pk = token.partition(":")
            if kind not in RECORD_KINDS or not (pk.isascii() and pk.isdigit()):
                raise forms.ValidationError(_("The dry run was changed; run it again."))
            ids.setdefault(kind, []).append(int(pk))
        if not ids:
            raise forms.ValidationError(_("Nothing to apply: the dry run gave nobody anything."))
        if sum(len(v) for v in ids.values()) > BACKLOG_LIMIT * len(RECORD_KINDS):
            raise forms.ValidationError(_("The dry run was changed; run it again."))
        return ids


class PoolParamForm(QueryForm):
    """The `pool` a rule's dry run and apply are limited to: one of the tenant's pools, else all."""

    pool = forms.ModelChoiceField(queryset=Pool.objects.none(), required=False)

    def __init__(self, data, *, queryset):
        super().__init__(data)
        self.fields["pool"].queryset = queryset
