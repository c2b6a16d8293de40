"""Customer care pages (admins and managers): campaigns, a campaign's figures and preview, who is greeted on a
day, and the log of greetings sent."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.errors import DomainError
from crm.phones import format_phone
from crm.web import apply_domain_error, domain_action, form_status, paginate, tenant_required
from crm.workcalendar.selectors import local_today
from customers.models import Contact
from marketing.access import get_campaign_for_user, require_care
from marketing.forms.campaign import AudienceForm, CampaignForm, LogFilterForm, PreviewForm, audience_of
from marketing.models import CareCampaign, Greeting
from marketing.selectors.care import (
    audience_counts,
    campaign_channels,
    campaigns_with_figures,
    contacts_visible_for_preview,
    coupon_figures,
    due_parts,
    greeting_status,
    greetings_visible_to,
)
from marketing.selectors.occasion import holiday_on, next_occasion
from marketing.services.campaign import CAMPAIGN_FIELDS, campaign_preview, campaign_save, campaign_send_test

PREVIEW_ROWS = 50


@tenant_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    require_care(request.user)
    tenant = request.tenant
    today = local_today(tenant)
    campaigns = list(campaigns_with_figures(tenant.pk))
    coupons = coupon_figures(tenant.pk)
    for campaign in campaigns:
        campaign.tenant = tenant
        campaign.coupon_stats = coupons.get(campaign.pk, {})
        if campaign.kind != CareCampaign.Kind.BIRTHDAY:
            campaign.next_date = next_occasion(campaign, today)
            campaign.warning = holiday_on(campaign, today).warning or (
                holiday_on(campaign, campaign.next_date).warning if campaign.next_date else ""
            )
    return render(request, "marketing/care/list.html", {"campaigns": campaigns, "today": today})


def _save(request: HttpRequest, campaign: CareCampaign | None, initial: dict | None = None) -> HttpResponse:
    form = CampaignForm(request.POST or None, instance=campaign, initial=initial, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data.get(k) for k in CAMPAIGN_FIELDS}
        try:
            campaign = campaign_save(acting_user=request.user, data=data, campaign=campaign)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("marketing:campaign_detail", pk=campaign.pk)
    audience = form.instance.audience if not form.is_bound else {}
    if form.is_bound:
        audience_form = AudienceForm(request.POST, tenant=request.tenant)
        audience = audience_of(audience_form.cleaned_data) if audience_form.is_valid() else {}
    context = {"form": form, "campaign": campaign, "counts": audience_counts(request.tenant, audience)}
    return render(request, "marketing/care/form.html", context, status=form_status(form))


@tenant_required
def audience_count(request: HttpRequest) -> HttpResponse:
    """The campaign form's live count (htmx): contacts in the chosen audience, and those who may be messaged."""
    require_care(request.user)
    form = AudienceForm(request.GET, tenant=request.tenant)
    audience = audience_of(form.cleaned_data) if form.is_valid() else {}
    response = render(
        request, "marketing/care/audience_count.html", {"counts": audience_counts(request.tenant, audience)}
    )
    response["Vary"] = "HX-Request"
    return response


@tenant_required
@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest) -> HttpResponse:
    require_care(request.user)
    kind = request.GET.get("kind")
    return _save(request, None, initial={"kind": kind if kind in CareCampaign.Kind.values else "holiday"})


@tenant_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_campaign_for_user(request.user, pk)
    # The form edits a copy: a refused change leaves the campaign as it was.
    return _save(request, campaign)


def _preview_contact(request: HttpRequest, campaign: CareCampaign, contact_id: int | None) -> Contact | None:
    contacts = contacts_visible_for_preview(
        request.user, Contact.objects.filter(tenant_id=campaign.tenant_id, customer__deleted_at__isnull=True)
    ).select_related("customer", "customer__owner")
    if contact_id:
        return contacts.filter(pk=contact_id).first()
    return contacts.order_by("-marketing_consent", "pk").first()


@tenant_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_campaign_for_user(request.user, pk)
    tenant = request.tenant
    query = PreviewForm(request.GET)
    contact = _preview_contact(request, campaign, query.value("contact"))
    figures = campaigns_with_figures(tenant.pk).get(pk=campaign.pk)
    today = local_today(tenant)
    context = {
        "campaign": campaign,
        "figures": figures,
        "coupons": coupon_figures(tenant.pk).get(campaign.pk, {}),
        "contact": contact,
        "previews": campaign_preview(campaign=campaign, contact=contact) if contact else [],
        "recent": greetings_visible_to(request.user)
        .filter(campaign=campaign)
        .select_related("contact", "customer", "message", "coupon")
        .order_by("-created_at", "-pk")[:20],
        "channels": campaign_channels(campaign),
    }
    if campaign.kind != CareCampaign.Kind.BIRTHDAY:
        context["next_date"] = next_occasion(campaign, today)
        context["warning"] = holiday_on(campaign, today).warning
    return render(request, "marketing/care/detail.html", context)


@tenant_required
@require_POST
def campaign_test(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_campaign_for_user(request.user, pk)
    contact = _preview_contact(request, campaign, PreviewForm(request.POST).value("contact"))
    back = reverse("marketing:campaign_detail", kwargs={"pk": campaign.pk})
    if contact is None:
        messages.error(request, _("Add a contact first: the test shows the message as a real contact gets it."))
        return redirect(back)

    def send() -> None:
        sent = campaign_send_test(acting_user=request.user, campaign=campaign, contact=contact)
        if sent.email:
            messages.success(request, _("A test email is on its way to %(email)s.") % {"email": sent.email.to_address})
        if sent.sms:
            number = format_phone(sent.sms.to_address)
            messages.success(request, _("A test SMS is on its way to %(number)s.") % {"number": number})
        if sent.sms_refused:
            messages.warning(request, sent.sms_refused)

    return domain_action(request, send, then=back)


@tenant_required
def care_preview(request: HttpRequest) -> HttpResponse:
    """Who gets a greeting on a given day: per active campaign, the due contacts (the job's own selection), whether
    each would be messaged or skipped and why, and whether they were greeted already."""
    require_care(request.user)
    tenant = request.tenant
    query = PreviewForm(request.GET, initial={})
    day = query.value("day") or local_today(tenant)
    rows = []
    campaigns = CareCampaign.objects.filter(tenant_id=tenant.pk, is_active=True).select_related("tenant")
    for campaign in campaigns:
        parts = due_parts(campaign, day)
        if not parts:
            continue
        channels = campaign_channels(campaign)
        # The parts (Gregorian and lunar birthdays) never share a contact: their counts add up.
        total, ids = 0, []
        for part in parts:
            visible = contacts_visible_for_preview(request.user, part.contacts)
            total += visible.count()
            ids += list(visible.order_by("pk").values_list("pk", flat=True)[: PREVIEW_ROWS - len(ids)])
        listed = (
            Contact.objects.filter(tenant_id=tenant.pk, pk__in=ids)
            .annotate(would=greeting_status(channels))
            .select_related("customer")
            .prefetch_related(
                Prefetch("greetings", queryset=Greeting.objects.filter(campaign=campaign, occasion=day), to_attr="done")
            )
            .order_by("name", "pk")
        )
        rows.append({"campaign": campaign, "total": total, "contacts": listed})
    statuses = dict(Greeting.Status.choices)
    return render(
        request,
        "marketing/care/preview.html",
        {"day": day, "rows": rows, "statuses": statuses, "preview_rows": PREVIEW_ROWS},
    )


@tenant_required
def care_log(request: HttpRequest) -> HttpResponse:
    require_care(request.user)
    query = LogFilterForm(request.GET)
    greetings = greetings_visible_to(request.user)
    if query.value("campaign"):
        greetings = greetings.filter(campaign_id=query.value("campaign"))
    if query.value("status"):
        greetings = greetings.filter(status=query.value("status"))
    greetings = greetings.select_related("campaign", "contact", "customer", "message", "coupon").order_by(
        "-created_at", "-pk"
    )
    campaigns = CareCampaign.objects.filter(tenant_id=request.tenant.pk).order_by("name")
    return render(
        request,
        "marketing/care/log.html",
        {
            "page": paginate(request, greetings),
            "query": query,
            "campaigns": campaigns,
            "statuses": Greeting.Status.choices,
        },
    )
