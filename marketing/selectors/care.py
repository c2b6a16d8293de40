"""Reads of customer care: the contacts a campaign greets on a local day (one predicate for the job and the
preview), the campaigns' figures, the greeting log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from crm.models import OutboundMessage, Role, Team
from customers.filters import CustomerFilter
from customers.models import Contact, Customer
from marketing.models import CareCampaign, Coupon, Greeting, Segment
from marketing.selectors.occasion import gregorian_birthdays_on, holiday_on, lunar_day
from marketing.selectors.segment import filter_customers


@dataclass
class DuePart:
    """Contacts a campaign greets on a day, and the year their greetings belong to."""

    contacts: QuerySet
    year: int


def campaign_channels(campaign: CareCampaign) -> list[str]:
    """The channels a campaign may use, in its order of preference: those it has a text for."""
    order = ["email", "sms"] if campaign.channel == CareCampaign.Channel.EMAIL else ["sms", "email"]
    has_text = {"email": bool(campaign.email_subject and campaign.email_body), "sms": bool(campaign.sms_body)}
    return [channel for channel in order if has_text[channel]]


AUDIENCE_FILTERS = ("level", "tag", "region", "industry", "status", "owner")


def audience_customers(tenant, audience: dict) -> QuerySet:
    """The live customers a campaign's audience picks: the customer list's own FilterSet over the tenant's customers
    (a value the tenant no longer has, e.g. a deleted tag, picks nobody rather than everybody), and the owner's team
    with the teams under it."""
    customers = Customer.objects.filter(tenant_id=tenant.pk, deleted_at__isnull=True)
    data = {k: audience[k] for k in AUDIENCE_FILTERS if audience.get(k) not in (None, "")}
    if data:
        filterset = CustomerFilter(data=data, queryset=customers, request=SimpleNamespace(tenant=tenant))
        if not filterset.is_valid():
            return customers.none()
        customers = filterset.qs
    if audience.get("team"):
        team = Team.objects.filter(tenant_id=tenant.pk, pk=audience["team"]).first()
        if team is None:
            return customers.none()
        customers = customers.filter(owner__team__path__startswith=team.path)
    if audience.get("segment"):
        # A saved segment's customers, narrowed by the other filters; a deleted segment picks nobody.
        segment = Segment.objects.filter(tenant_id=tenant.pk, pk=audience["segment"]).first()
        if segment is None:
            return customers.none()
        customers = customers.filter(pk__in=filter_customers(tenant, segment.filters).values("pk"))
    return customers.order_by()


def audience_contacts(tenant, audience: dict | None = None) -> QuerySet:
    """Contacts of the live customers an audience picks (every live customer's for an empty one)."""
    return _audience(tenant, audience)


def _audience(tenant, audience: dict | None = None) -> QuerySet:
    # Contacts of live customers (of the audience, when it has filters); the occasion's conditions come per part.
    contacts = Contact.objects.filter(tenant_id=tenant.pk, customer__deleted_at__isnull=True)
    if audience:
        contacts = contacts.filter(customer__in=audience_customers(tenant, audience).values("pk"))
    return contacts.order_by()


def audience_counts(tenant, audience: dict) -> dict[str, int]:
    """The live count on the campaign form: contacts in the audience, and how many of them may be messaged."""
    return _audience(tenant, audience).aggregate(
        total=Count("pk"), reachable=Count("pk", filter=Q(marketing_consent=True, unsubscribed_at__isnull=True))
    )


def birthday_parts(tenant, day: dt.date, audience: dict | None = None) -> list[DuePart]:
    """Today's birthdays, Gregorian and lunar, each over its index (customers.Contact's contact_birthday_md_idx and
    contact_lunar_birthday_idx). A contact with both is greeted on the one it prefers."""
    month, days = gregorian_birthdays_on(day)
    gregorian = (
        _audience(tenant, audience)
        .filter(birthday__isnull=False, birthday__month=month, birthday__day__in=days)
        .exclude(lunar_birthday_month__isnull=False, prefers_lunar_birthday=True)
    )
    lunar = lunar_day(day)
    lunar_q = Q(lunar_birthday_month=lunar.month, lunar_birthday_day__in=lunar.days)
    if lunar.leap:
        lunar_q &= Q(lunar_birthday_leap=True)
    elif not lunar.leap_born_here:
        lunar_q &= Q(lunar_birthday_leap=False)
    lunar_contacts = (
        _audience(tenant, audience)
        .filter(lunar_birthday_month__isnull=False)
        .filter(lunar_q)
        .filter(Q(birthday__isnull=True) | Q(prefers_lunar_birthday=True))
    )
    return [DuePart(gregorian, day.year), DuePart(lunar_contacts, lunar.year)]


def due_parts(campaign: CareCampaign, day: dt.date) -> list[DuePart]:
    """The contacts `campaign` greets on the tenant-local `day` (empty when its occasion is another day)."""
    if campaign.kind == CareCampaign.Kind.BIRTHDAY:
        return birthday_parts(campaign.tenant, day, campaign.audience)
    occasion = holiday_on(campaign, day)
    if not occasion.due:
        return []
    return [DuePart(_audience(campaign.tenant, campaign.audience), occasion.year)]


def greeting_status(channels: list[str], reachable_status: str = Greeting.Status.QUEUED.value) -> Case:
    """Why a due contact is or is not messaged, as SQL: unsubscribed, no consent, no address for any channel; else
    `reachable_status` (what the caller's rows say of a contact to message). Care greetings and campaign blasts
    share it, so consent and unsubscribes are judged one way."""
    reachable = Q(pk__in=[])
    for channel in channels:
        reachable |= ~Q(email="") if channel == "email" else ~Q(mobile="")
    return Case(
        When(unsubscribed_at__isnull=False, then=Value(Greeting.Status.UNSUBSCRIBED.value)),
        When(marketing_consent=False, then=Value(Greeting.Status.NO_CONSENT.value)),
        When(reachable, then=Value(reachable_status)),
        default=Value(Greeting.Status.NO_ADDRESS.value),
    )


def greeting_channel(channels: list[str]) -> Case:
    """The first of the campaign's channels the contact has an address for."""
    whens = [When(~Q(email="") if c == "email" else ~Q(mobile=""), then=Value(c)) for c in channels]
    if not whens:
        return Value("")
    return Case(*whens, default=Value(""))


def campaigns_with_figures(tenant_id: int) -> QuerySet:
    """Every campaign of the tenant with its figures, in one query: greetings sent, delivered, failed, skipped by
    reason; coupons issued and redeemed and the order amount they brought."""
    greetings = "greetings"
    return (
        CareCampaign.objects.filter(tenant_id=tenant_id)
        .annotate(
            n_queued=Count(greetings, filter=Q(greetings__status=Greeting.Status.QUEUED), distinct=True),
            n_delivered=Count(
                greetings, filter=Q(greetings__message__status=OutboundMessage.Status.SENT), distinct=True
            ),
            n_failed=Count(
                greetings, filter=Q(greetings__message__status=OutboundMessage.Status.FAILED), distinct=True
            ),
            n_no_consent=Count(greetings, filter=Q(greetings__status=Greeting.Status.NO_CONSENT), distinct=True),
            n_unsubscribed=Count(greetings, filter=Q(greetings__status=Greeting.Status.UNSUBSCRIBED), distinct=True),
            n_no_address=Count(greetings, filter=Q(greetings__status=Greeting.Status.NO_ADDRESS), distinct=True),
        )
        .order_by("kind", "name", "pk")
    )


def coupon_figures(tenant_id: int) -> dict[int, dict]:
    """{campaign id: {"issued", "redeemed", "amount"}} in one query."""
    rows = (
        Coupon.objects.filter(tenant_id=tenant_id)
        .values("campaign_id")
        .annotate(
            issued=Count("pk"),
            redeemed=Count("pk", filter=Q(redeemed_at__isnull=False)),
            amount=Sum("order_amount", filter=Q(redeemed_at__isnull=False)),
        )
    )
    return {row["campaign_id"]: row for row in rows}


def greetings_visible_to(user) -> QuerySet:
    """The greetings a user may see: an admin all of the tenant's; a manager those of the customers they may see."""
    if not (user.is_authenticated and user.tenant_id):
        return Greeting.objects.none()
    greetings = Greeting.objects.filter(tenant_id=user.tenant_id)
    if user.has_any_role(Role.ADMIN):
        return greetings
    return greetings.filter(Exists(Customer.objects.visible_to(user).filter(pk=OuterRef("customer_id"))))


def contacts_visible_for_preview(user, contacts: QuerySet) -> QuerySet:
    if user.has_any_role(Role.ADMIN):
        return contacts
    return contacts.filter(Exists(Customer.objects.visible_to(user).filter(pk=OuterRef("customer_id"))))


def one_off_due(tenant, now: dt.datetime) -> list[CareCampaign]:
    """The tenant's active one-off campaigns whose day is today (tenant-local) and whose HH:MM has come, not sent
    yet: the every-minute check, one query on a partial index (nothing due is the common answer)."""
    local = timezone.localtime(now, tenant.tzinfo)
    return list(
        CareCampaign.objects.filter(
            tenant_id=tenant.pk,
            is_active=True,
            kind=CareCampaign.Kind.ONE_OFF,
            sent_at__isnull=True,
            send_on=local.date(),
        ).filter(Q(send_hour__lt=local.hour) | Q(send_hour=local.hour, send_minute__lte=local.minute))
    )
