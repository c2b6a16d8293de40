from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.forms.utils import flatatt
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .models import CURRENCY_CHOICES, RobotChannel, Role, Team, Tenant, User
from .timezones import timezone_choices, timezone_label


class QuickSelect(forms.Select):
    """A select rendered in Python rather than through one template include per option, with the same HTML as
    Django's own: a list filter offering a company's two hundred users costs a millisecond instead of tens."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        first_only = not self.allow_multiple_selected

        def option(option_value, label) -> str:
            text = "" if option_value is None else str(option_value)
            selected = text in chosen
            if selected and first_only:
                chosen.clear()
            mark = " selected" if selected else ""
            return f'<option value="{escape(text)}"{mark}>{conditional_escape(label)}</option>'

        parts = []
        for option_value, label in self.choices:
            if isinstance(label, list | tuple):
                inner = "".join(option(v, lbl) for v, lbl in label)
                parts.append(f'<optgroup label="{conditional_escape(option_value)}">{inner}</optgroup>')
            else:
                parts.append(option(option_value, label))
        final_attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            final_attrs["multiple"] = True
        # Every value and label above is escaped; the attributes by flatatt.
        html = f'<select name="{escape(name)}"{flatatt(final_attrs)}>{"".join(parts)}</select>'
        return mark_safe(html)  # noqa: S308


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email")
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "autofocus": True})


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{1,48}[a-z0-9])$", _("Use 3–50 lowercase letters, digits or hyphens.")
)


class SignupForm(forms.Form):
    company = forms.CharField(label=_("Company name"), max_length=200)
    slug = forms.CharField(
        label=_("Short name"),
        max_length=50,
        validators=[slug_validator],
        help_text=_("Lowercase letters, digits and hyphens; used in your public form addresses."),
    )
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    admin_email = forms.EmailField(label=_("Your email"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial="zh-hans")

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if Tenant.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("This address is already taken; choose another."))
        return slug

    def clean_admin_email(self) -> str:
        # Whether the address already has an account is never said here (the sign-up answers alike).
        return self.cleaned_data["admin_email"].strip().lower()

    def clean(self):
        data = super().clean()
        password = data.get("password")
        if password:
            probe = User(email=data.get("admin_email", ""), full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class UserForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    roles = forms.MultipleChoiceField(label=_("Roles"), choices=Role.choices, widget=forms.CheckboxSelectMultiple)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    language = forms.ChoiceField(
        label=_("Language"), choices=[("", _("Company default"))] + list(settings.LANGUAGES), required=False
    )
    send_invite = forms.BooleanField(
        label=_("Email an invitation with a link to set the password"), required=False, initial=True
    )

    def __init__(self, *args, tenant: Tenant, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.for_tenant(tenant)
        if editing:
            # The email is the login; changing it is not offered here.
            del self.fields["email"]
            del self.fields["send_invite"]


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    parent = forms.ModelChoiceField(label=_("Parent team"), queryset=Team.objects.none(), required=False)
    manager = forms.ModelChoiceField(label=_("Manager"), queryset=User.objects.none(), required=False)

    def __init__(self, *args, tenant: Tenant, team: Team | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        parents = Team.objects.for_tenant(tenant)
        if team is not None:
            parents = parents.exclude(path__startswith=team.path)
        self.fields["parent"].queryset = parents
        self.fields["manager"].queryset = User.objects.for_tenant(tenant).filter(is_active=True)


class TenantSettingsForm(forms.ModelForm):
    # Named zones, the common ones first; only zones zoneinfo knows are accepted (and the model validates again).
    timezone = forms.ChoiceField(label=_("Time zone"), choices=timezone_choices)

    class Meta:
        model = Tenant
        fields = [
            "name",
            "timezone",
            "language",
            "currency",
            "phone_region",
            "require_admin_two_factor",
            "daily_reveal_limit",
        ]
        help_texts = {
            "require_admin_two_factor": _(
                "Administrators then enter a code from an authenticator app after their password; those without "
                "one set it up at their next page."
            ),
            "daily_reveal_limit": _(
                "Phones and emails of customers a user does not own are masked until they click Reveal; each reveal "
                "is logged. Leave empty for no cap."
            ),
        }

    logo_upload = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("PNG or JPEG, at most 512 KB: printed at the top of quotes and contracts."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    logo_clear = forms.BooleanField(label=_("Remove the logo"), required=False)


class PreferencesForm(forms.Form):
    """A user's own language and time zone; the first choice of each is the company's."""

    language = forms.ChoiceField(label=_("Language"), required=False)
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        languages = dict(settings.LANGUAGES)
        company = languages.get(tenant.language, tenant.language)
        self.fields["language"].choices = [("", _("The company's (%(name)s)") % {"name": company}), *settings.LANGUAGES]
        self.fields["time_zone"].choices = [
            ("", _("The company's (%(name)s)") % {"name": timezone_label(tenant.timezone)}),
            *timezone_choices(),
        ]
        self.fields["time_zone"].help_text = _("Times are shown in this zone, and your day starts at its midnight.")


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False)


# Far enough for any plan, near enough that the days, weeks and months around a date stay representable.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9000, 12, 31)


class BoundedDateField(forms.DateField):
    """A date between FIRST_DAY and LAST_DAY: a query parameter like 9999-12-31 or 0001-01-01 is refused as
    invalid (and falls back to its default) instead of overflowing the date arithmetic around it."""

    default_validators = [MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)]


class QueryForm(forms.Form):
    """Parses a page's query parameters. A value that does not parse falls back to its field's default, field by
    field (as the list filters do), so odd input — a NUL byte, a date out of range, a wrong type — never reaches the
    database and never answers 500."""

    defaults: dict = {}

    def value(self, name: str):
        """The cleaned value of `name`, or its default when it is missing, empty or invalid."""
        self.is_valid()
        value = self.cleaned_data.get(name) if name not in self.errors else None
        return value if value not in (None, "") else self.defaults.get(name, value)


class SearchForm(QueryForm):
    """A search box's `q`: stripped, at most 200 characters."""

    q = forms.CharField(required=False, max_length=200)
    defaults = {"q": ""}


class TwoFactorCodeForm(forms.Form):
    """A code of the second factor: six digits from the authenticator app, or a recovery code."""

    token = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True, "spellcheck": "false"}
        ),
    )


class RobotChannelForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=RobotChannel.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.URLField(label=_("Webhook address"), max_length=500, assume_scheme="https")
    secret = forms.CharField(
        label=_("Signing secret"),
        max_length=200,
        required=False,
        help_text=_("DingTalk's and Feishu's signing secret (加签), if the robot uses one."),
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("Whole company"),
        help_text=_("Posts the notifications of this team's members; without a team, everyone's."),
    )
    events = forms.MultipleChoiceField(label=_("Notifications"), choices=(), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, tenant: Tenant, events: dict, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.for_tenant(tenant).order_by("path")
        self.fields["events"].choices = list(events.items())
        if editing:
            # The stored secret is never shown again: empty keeps it.
            self.fields["secret"].help_text = _(
                "Leave empty to keep the current secret. DingTalk's and Feishu's signing secret (加签)."
            )
            self.fields["remove_secret"] = forms.BooleanField(label=_("Remove the signing secret"), required=False)


class ExchangeRateForm(forms.Form):
    """One month's rate of a currency (Settings → Exchange rates)."""

    currency = forms.ChoiceField(label=_("Currency"), choices=())
    month = forms.DateField(
        label=_("Month"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    rate = forms.DecimalField(
        label=_("Rate"),
        max_digits=18,
        decimal_places=6,
        min_value=0,
        help_text=_("What one unit of the currency is worth in your company's currency that month."),
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, label) for c, label in CURRENCY_CHOICES if c != tenant.currency]


class ExchangeRateImportForm(forms.Form):
    text = forms.CharField(
        label=_("Rates, one per line"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "USD, 2026-11, 7.12"}),
        help_text=_("Currency, month and rate, separated by commas or tabs (as copied from a spreadsheet)."),
    )
