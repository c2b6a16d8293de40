"""The customer list's search, filters and sort, on top of a scoped queryset (never `.objects.all()`)."""

from __future__ import annotations

import datetime as dt
import re

import django_filters
from django import forms
from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Reverse
from django.forms import DateInput
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import BooleanWidget
from django_ratelimit.core import is_ratelimited
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.request import Request

from crm.expressions import InArray, InFunctionArray, StartsWith
from crm.filters import BoundedDateFilter, LocalDayFilter, TeamTreeFilter, add_custom_filters, limit_team_choices
from crm.forms import QuickSelect
from crm.models import Role, Team, User
from crm.registry import registry
from crm.search_functions import matching_ids
from crm.workcalendar.selectors import local_midnight

from .models import ChoiceKind, Contact, Customer, CustomerIdentifier, CustomerLevel, CustomerTag, Pool, Tag
from .normalize import nfkc, normalize_credit_code, normalize_email, normalize_phone
from .selectors.choice_list import ChoiceLookup
from .selectors.listing import DEFAULT_SORT, SORTS

SORT_CHOICES = [
    ("-created", _("Newest first")),
    ("created", _("Oldest first")),
    ("name", _("Name A→Z")),
    ("-name", _("Name Z→A")),
    ("-last_followed_up", _("Recently followed up")),
    ("last_followed_up", _("Longest without follow-up")),
    ("fallback", _("Falls back soonest")),
]
CREDIT_CODE_RE = re.compile(r"^[0-9A-Z]{18}$")


# The database functions of the contains- and phone-tail searches (crm.search_functions; customers' migration
# customer_search_functions).
CUSTOMER_NAME_CONTAINS = "customer_ids_name_contains"
CUSTOMER_PHONE_ENDING = "customer_ids_phone_ending"
# A contains-match of more customers than this is searched as a filter on the rows the page reads (found sooner
# than an index would list them all); a phone tail matches at most this many numbers (four digits: one in 10,000).
CONTAINS_MOST = 2_000
TAIL_MOST = 100_000

# The masked form of a phone shows its last four digits (138****5678).
SHOWN_PHONE_TAIL = 4


def exact_identifier(value: str, tenant) -> tuple[str, str] | None:
    """(kind, normalized value) when the search text is a whole identifier — an email, a credit code or a complete
    phone number — which the search matches exactly; None for names and tails of numbers."""
    text = nfkc(value)
    if "@" in text:
        return "email", normalize_email(text)
    if CREDIT_CODE_RE.match(normalize_credit_code(text)) and any(ch.isdigit() for ch in text):
        return "credit_code", normalize_credit_code(text)
    digits = re.sub(r"[\s\-()+]", "", text)
    if digits.isdigit() and len(digits) >= 4:
        phone = normalize_phone(text, tenant.phone_region or "CN")
        if phone:
            return "phone", phone
    return None


def exact_search_over_limit(request: HttpRequest) -> bool:
    """Count one whole-identifier search that matched customers the user does not own (django-ratelimit, keyed on
    the user, settings.EXACT_SEARCH_RATE); True past the limit. Typing complete numbers one after another would
    otherwise confirm masked phones and emails without a single logged reveal."""
    return is_ratelimited(
        request, group="customers:exact_search", key="user", rate=settings.EXACT_SEARCH_RATE, increment=True
    )


def search_customers(queryset, value: str, tenant, user=None):
    """DESIGN.md §8's search contract: phone exact or suffix, email exact, credit code exact, names by prefix,
    pinyin / initials prefix, and trigram (contains) for three characters or more; contact names by prefix.

    Phones are masked on customers `user` does not own, so a tail longer than the digits the mask shows matches
    only `user`'s own customers: trying one more digit at a time must not rebuild a masked number."""
    text = nfkc(value)
    if not text:
        return queryset
    idents = CustomerIdentifier.objects.filter(tenant=tenant, customer=OuterRef("pk"))
    exact = exact_identifier(value, tenant)
    if exact is not None:
        kind, normalized = exact
        return queryset.filter(Exists(idents.filter(kind=kind, value=normalized)))
    digits = re.sub(r"[\s\-()+]", "", text)
    if digits.isdigit() and len(digits) >= 4:
        # A tail of a number ("5678"): a prefix of the reversed value, served by an index.
        if len(digits) > SHOWN_PHONE_TAIL:
            queryset = queryset.filter(owner=user) if user is not None else queryset.none()
        # The customers of the numbers so ending, computed once on the reversed-value index, then read by id.
        return queryset.filter(InFunctionArray("pk", CUSTOMER_PHONE_ENDING, digits, TAIL_MOST))
    return _search_names(queryset, text, tenant)


def search_pool_customers(queryset, value: str, tenant):
    """The pool's search: only what the pool shows (the customer's name, its pinyin and initials, contact names).
    Phones, emails and credit codes are masked there, so they are never matched: a match would confirm them."""
    text = nfkc(value)
    if not text:
        return queryset
    return _search_names(queryset, text, tenant)


def _search_names(queryset, text: str, tenant):
    lowered = text.lower()
    # `StartsWith` rather than `__startswith`: a prefix the index serves under row-level security (crm.expressions).
    condition = (
        Q(StartsWith("name", text)) | Q(StartsWith("name_pinyin", lowered)) | Q(StartsWith("name_initials", lowered))
    )
    if len(text) >= 3:
        # Contains: the ids from the name's trigram index (crm.search_functions), or a filter when they are many.
        ids = matching_ids(CUSTOMER_NAME_CONTAINS, text, CONTAINS_MOST)
        condition |= Q(name__icontains=text) if ids is None else Q(pk__in=ids)
    # The customers of contacts so named, computed once: with the name, pinyin and initials prefixes (each on its
    # tenant-first pattern index) and the trigram match, one BitmapOr of index scans, never a per-row EXISTS.
    contacts = Contact.objects.filter(StartsWith("name", text), tenant=tenant).order_by().values("customer_id")
    return queryset.filter(condition | Q(InArray("pk", contacts)))


class AnyYesNoWidget(BooleanWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (("", _("Any")), ("true", _("Yes")), ("false", _("No")))


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Customer.Status.choices)
    level = django_filters.ModelChoiceFilter(
        label=_("Level"), queryset=CustomerLevel.objects.none(), widget=QuickSelect
    )
    industry = django_filters.CharFilter(label=_("Industry"))
    region = django_filters.CharFilter(label=_("Region"))
    source = django_filters.CharFilter(label=_("Source"))
    tag = django_filters.ModelChoiceFilter(
        label=_("Tag"), queryset=Tag.objects.none(), method="filter_tag", widget=QuickSelect
    )
    # The company's users and teams can be many: their menus render without a template per option.
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=User.objects.none(), widget=QuickSelect)
    pool = django_filters.ModelChoiceFilter(label=_("Pool"), queryset=Pool.objects.none(), widget=QuickSelect)
    key_account = django_filters.BooleanFilter(
        label=_("Key account"), field_name="is_key_account", widget=AnyYesNoWidget
    )
    team = TeamTreeFilter(widget=QuickSelect)
    # Local days of the tenant: "since" keeps what happened on or after the day; "not since" what did not (never
    # counts as not since).
    followed_up_since = BoundedDateFilter(
        label=_("Followed up since"), method="filter_since", widget=DateInput(attrs={"type": "date"})
    )
    no_followup_since = BoundedDateFilter(
        label=_("No follow-up since"), method="filter_not_since", widget=DateInput(attrs={"type": "date"})
    )
    deal_since = BoundedDateFilter(
        label=_("Deal since"), method="filter_since", widget=DateInput(attrs={"type": "date"})
    )
    no_deal_since = BoundedDateFilter(
        label=_("No deal since"), method="filter_not_since", widget=DateInput(attrs={"type": "date"})
    )
    quiet_since = BoundedDateFilter(
        label=_("Quiet since"), method="filter_quiet_since", widget=DateInput(attrs={"type": "date"})
    )
    created_from = LocalDayFilter(label=_("Created from"), field_name="created_at", lookup_expr="gte")
    created_to = LocalDayFilter(label=_("Created until"), field_name="created_at", lookup_expr="lte")
    sort = django_filters.ChoiceFilter(label=_("Sort"), choices=SORT_CHOICES, method="sort_by", empty_label=None)

    class Meta:
        model = Customer
        fields = ["q", "status", "level", "industry", "region", "source", "tag", "owner", "pool", "key_account"]

    # The date filters' columns.
    DATE_COLUMNS = {
        "followed_up_since": "last_followed_up_at",
        "no_followup_since": "last_followed_up_at",
        "deal_since": "last_deal_at",
        "no_deal_since": "last_deal_at",
    }

    def __init__(self, data=None, *args, request=None, **kwargs):
        super().__init__(data, *args, request=request, **kwargs)
        tenant = request.tenant
        self.tenant = tenant
        self.filters["level"].queryset = CustomerLevel.objects.for_tenant(tenant)
        self.filters["tag"].queryset = Tag.objects.for_tenant(tenant)
        self.filters["owner"].queryset = User.objects.for_tenant(tenant).filter(is_active=True)
        self.filters["pool"].queryset = Pool.objects.for_tenant(tenant)
        # Every team of the company: segments and surveys pick customers through this FilterSet without a user.
        self.filters["team"].queryset = Team.objects.for_tenant(tenant)
        # Filters of higher apps (e.g. RFM), before the sort so the form keeps the sort last.
        sort = self.filters.pop("sort")
        add_custom_filters(self, tenant.pk if tenant else None, "customer")
        for contribution in registry.customer_filters():
            for name, filter_ in contribution.filters(tenant).items():
                filter_.model, filter_.parent = Customer, self  # as django-filter binds the FilterSet's own
                self.filters[name] = filter_
        self.filters["sort"] = sort
        if not isinstance(request, Request):
            # The API shows no form: it needs no choices, and the filters match the same values either way.
            self._use_value_lists(tenant)

    def _use_value_lists(self, tenant) -> None:
        """Region, industry and source pick from the company's lists (exact match, on the indexes) when a list is in
        use; a value typed into the URL outside the list stays shown as chosen."""
        lookup = ChoiceLookup(tenant)
        for kind in ChoiceKind.values:
            if not lookup.in_use(kind):
                continue
            choices = [("", _("Any")), *lookup.options(kind)]
            chosen = str((self.data or {}).get(kind) or "")
            if chosen and chosen not in {value for value, _label in choices}:
                choices.append((chosen, chosen))
            self.filters[kind].extra["widget"] = forms.Select(choices=choices)

    # Set by the search when whole-identifier matches on others' customers were held back (over the rate limit).
    exact_search_limited = False

    def search(self, queryset, name, value):
        user = self.request.user
        matched = search_customers(queryset, value, self.tenant, user)
        if (
            isinstance(self.request, HttpRequest)
            and exact_identifier(value, self.tenant) is not None
            and matched.exclude(owner=user).exists()
            and exact_search_over_limit(self.request)
        ):
            self.exact_search_limited = True
            return matched.filter(owner=user)
        return matched

    def filter_since(self, queryset, name, value):
        return queryset.filter(**{f"{self.DATE_COLUMNS[name]}__gte": local_midnight(self.tenant, value)})

    def filter_not_since(self, queryset, name, value):
        column = self.DATE_COLUMNS[name]
        return queryset.filter(
            Q(**{f"{column}__lt": local_midnight(self.tenant, value)}) | Q(**{f"{column}__isnull": True})
        )

    def filter_quiet_since(self, queryset, name, value):
        # Not followed up since the day, or never followed up and held since before it (the activity report's).
        return queryset.quiet_since(local_midnight(self.tenant, value))

    @extend_schema_field(OpenApiTypes.INT)  # the API's schema: a tag is chosen by its id
    def filter_tag(self, queryset, name, value):
        return queryset.filter(Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag=value)))

    def sort_by(self, queryset, name, value):
        if value == "fallback":
            # The stored moment the fallback job takes it back (customers.services.fallback_date): soonest first,
            # "never" last. An admin's or a manager's page is read off cust_fallback_idx in that order (their
            # customers are a good share of the tenant's). A rep sees the customers of one owner: those rows are read
            # by owner and the page picked by a top-N sort — the "+ 0" keeps the planner from walking the
            # tenant-wide index past every other owner's rows.
            user = getattr(self.request, "user", None)
            if user is not None and user.has_any_role(Role.ADMIN, Role.MANAGER):
                return queryset.order_by(F("fallback_at").asc(nulls_last=True), "pk")
            return queryset.order_by((F("fallback_at") + Value(dt.timedelta(0))).asc(nulls_last=True), "pk")
        return queryset.order_by(*SORTS.get(value, SORTS[DEFAULT_SORT]))

    @property
    def qs(self):
        qs = super().qs
        if not getattr(self.form, "cleaned_data", {}).get("sort"):
            qs = qs.order_by(*SORTS[DEFAULT_SORT])
        return qs

    @property
    def sort_key(self) -> str:
        """The sort the rows are in (the default when none or an unknown one was asked for)."""
        return getattr(self.form, "cleaned_data", {}).get("sort") or DEFAULT_SORT


class PoolCustomerFilter(CustomerFilter):
    """The pool list's filters: the customer list's, with the search limited to what the pool shows."""

    def search(self, queryset, name, value):
        return search_pool_customers(queryset, value, self.tenant)


# --- contacts ------------------------------------------------------------------------------------------------

CONTACT_SORTS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
}
CONTACT_SORT_CHOICES = [
    ("name", _("Name A→Z")),
    ("-name", _("Name Z→A")),
    ("-created", _("Newest first")),
    ("created", _("Oldest first")),
]


def search_contacts(queryset, value: str, tenant, user=None):
    """The contact list's search: email exact, a complete phone (mobile or other phone) exact, a number's tail, the
    name by prefix and, from three characters, contained (trigram).

    Phones and emails are masked on the contacts of customers `user` does not own, so a tail longer than the
    digits the mask shows matches only the contacts of `user`'s own customers."""
    text = nfkc(value)
    if not text:
        return queryset
    if "@" in text:
        return queryset.filter(email=normalize_email(text))
    digits = re.sub(r"[\s\-()+]", "", text)
    if digits.isdigit() and len(digits) >= 4:
        phone = normalize_phone(text, tenant.phone_region or "CN")
        if phone:
            return queryset.filter(Q(mobile=phone) | Q(phone=phone))
        if len(digits) > SHOWN_PHONE_TAIL:
            queryset = queryset.filter(customer__owner=user) if user is not None else queryset.none()
        return queryset.annotate(mobile_reversed=Reverse("mobile")).filter(mobile_reversed__startswith=digits[::-1])
    condition = Q(StartsWith("name", text))
    if len(text) >= 3:
        condition |= Q(name__icontains=text)
    return queryset.filter(condition)


class ContactFilter(django_filters.FilterSet):
    """The contact list: the contacts of the customers the user may see, searched, filtered (custom fields of
    contacts too, `cf_<key>`) and sorted."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    primary = django_filters.BooleanFilter(label=_("Primary contact"), field_name="is_primary", widget=AnyYesNoWidget)
    consent = django_filters.BooleanFilter(
        label=_("Marketing consent"), field_name="marketing_consent", widget=AnyYesNoWidget
    )
    team = TeamTreeFilter(field_name="customer__owner")
    created_from = LocalDayFilter(label=_("Created from"), field_name="created_at", lookup_expr="gte")
    created_to = LocalDayFilter(label=_("Created until"), field_name="created_at", lookup_expr="lte")
    sort = django_filters.ChoiceFilter(
        label=_("Sort"), choices=CONTACT_SORT_CHOICES, method="sort_by", empty_label=None
    )

    # Set by the search when whole-number or email matches on others' contacts were held back (over the rate limit).
    exact_search_limited = False

    def __init__(self, data=None, *args, request=None, **kwargs):
        super().__init__(data, *args, request=request, **kwargs)
        self.tenant = request.tenant
        add_custom_filters(self, self.tenant.pk, "contact")
        limit_team_choices(self, request.user, self.tenant)

    def search(self, queryset, name, value):
        user = self.request.user
        matched = search_contacts(queryset, value, self.tenant, user)
        exact = exact_identifier(value, self.tenant)
        if (
            isinstance(self.request, HttpRequest)
            and exact is not None
            and exact[0] in ("phone", "email")
            and matched.exclude(customer__owner=user).exists()
            and exact_search_over_limit(self.request)
        ):
            self.exact_search_limited = True
            return matched.filter(customer__owner=user)
        return matched

    def sort_by(self, queryset, name, value):
        return queryset.order_by(*CONTACT_SORTS.get(value, CONTACT_SORTS["name"]))

    @property
    def qs(self):
        qs = super().qs
        if not getattr(self.form, "cleaned_data", {}).get("sort"):
            qs = qs.order_by(*CONTACT_SORTS["name"])
        return qs
