"""Blast pages (managers and admins): write a blast for a campaign with its audience, preview it for a contact,
send a test to oneself, schedule or cancel it, follow each recipient's status; the company's blast rate."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.errors import DomainError
from crm.web import apply_domain_error, domain_action, form_status, paginate, tenant_required
from customers.models import Contact
from marketing.access import get_blast_for_user, get_marketing_campaign_for_user, require_campaign_manager
from marketing.forms.blast import (
    BlastAudienceQuery,
    BlastForm,
    MarketingSettingsForm,
    PreviewContactForm,
    RecipientFilterForm,
    ScheduleForm,
    live_count,
)
from marketing.forms.campaign import AUDIENCE_KEYS, AudienceForm, audience_of
from marketing.models import Blast, MarketingCampaign, MarketingSettings, Segment
from marketing.selectors.blast import (
    blast_audience_counts,
    blast_audience_live,
    blast_figures,
    recipients_visible_to,
)
from marketing.selectors.care import contacts_visible_for_preview
from marketing.services.blast import (
    EDITABLE,
    blast_cancel,
    blast_preview,
    blast_rate,
    blast_save,
    blast_schedule,
    blast_send_test,
    marketing_settings_save,
)


def _save(request: HttpRequest, campaign: MarketingCampaign, blast: Blast | None) -> HttpResponse:
    form = BlastForm(request.POST or None, instance=blast, user=request.user)
    audience = blast.audience if blast else {}
    initial = {f"audience_{k}": audience.get(k) for k in AUDIENCE_KEYS if k != "segment"}
    audience_form = AudienceForm(request.POST or None, initial=initial, tenant=request.tenant, with_segment=False)
    if request.method == "POST" and form.is_valid() and audience_form.is_valid():
        data = {k: form.cleaned_data.get(k) for k in ("name", "channel", "email_subject", "email_body", "sms_body")}
        segment = form.cleaned_data.get("segment")
        data["audience"] = {"segment": segment.pk} if segment else audience_of(audience_form.cleaned_data)
        try:
            blast = blast_save(acting_user=request.user, campaign=campaign, data=data, blast=blast)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Blast saved."))
            return redirect("campaigns:blast_detail", pk=blast.pk)
    if audience_form.is_bound and audience_form.is_valid():
        segment = form.cleaned_data.get("segment") if form.is_valid() else None
        audience = {"segment": segment.pk} if segment else audience_of(audience_form.cleaned_data)
    live_count(form, audience_form)
    channel = (form.data.get("channel") if form.is_bound else None) or (
        blast.channel if blast else form["channel"].value()
    )
    context = {
        "form": form,
        "audience_form": audience_form,
        "campaign": campaign,
        "blast": blast,
        "counts": blast_audience_live(request.tenant, audience, channel),
    }
    status = 422 if form.errors or audience_form.errors else 200
    return render(request, "marketing/blast/form.html", context, status=status)


@tenant_required
@require_GET
def blast_audience_count(request: HttpRequest) -> HttpResponse:
    """The blast form's live count (htmx, as the segment, the filters or the channel change): contacts in the
    audience and those the blast may message, capped at COUNT_CAP."""
    require_campaign_manager(request.user)
    query = BlastAudienceQuery(request.GET, user=request.user)
    filters = AudienceForm(request.GET, tenant=request.tenant, with_segment=False)
    audience = query.audience(audience_of(filters.cleaned_data) if filters.is_valid() else {})
    if audience is None:
        counts = {"total": 0, "total_capped": False, "reachable": 0, "reachable_capped": False}
    else:
        counts = blast_audience_live(request.tenant, audience, query.value("channel"))
    response = render(request, "marketing/blast/audience_count.html", {"counts": counts})
    response["Vary"] = "HX-Request"
    return response


@tenant_required
@require_http_methods(["GET", "POST"])
def blast_create(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_marketing_campaign_for_user(request.user, pk)
    require_campaign_manager(request.user)
    return _save(request, campaign, None)


@tenant_required
@require_http_methods(["GET", "POST"])
def blast_edit(request: HttpRequest, pk: int) -> HttpResponse:
    blast = get_blast_for_user(request.user, pk)
    if blast.status not in EDITABLE:
        messages.error(request, _("This blast is sending or done: it can no longer change."))
        return redirect("campaigns:blast_detail", pk=blast.pk)
    return _save(request, blast.campaign, blast)


def _preview_contact(request: HttpRequest, blast: Blast, contact_id: int | None) -> Contact | None:
    contacts = contacts_visible_for_preview(
        request.user, Contact.objects.filter(tenant_id=blast.tenant_id, customer__deleted_at__isnull=True)
    ).select_related("customer", "customer__owner")
    if contact_id:
        return contacts.filter(pk=contact_id).first()
    return contacts.order_by("-marketing_consent", "pk").first()


@tenant_required
def blast_detail(request: HttpRequest, pk: int) -> HttpResponse:
    blast = get_blast_for_user(request.user, pk)
    query = RecipientFilterForm(request.GET)
    recipients = recipients_visible_to(request.user, blast)
    if query.value("status"):
        recipients = recipients.filter(status=query.value("status"))
    recipients = recipients.select_related("contact", "customer", "message").order_by("pk")
    contact = _preview_contact(request, blast, PreviewContactForm(request.GET).value("contact"))
    context = {
        "blast": blast,
        "campaign": blast.campaign,
        "figures": blast_figures(blast),
        "counts": blast_audience_counts(request.tenant, blast.audience),
        "segment": Segment.objects.filter(tenant_id=blast.tenant_id, pk=blast.audience.get("segment")).first()
        if blast.audience.get("segment")
        else None,
        "page": paginate(request, recipients),
        "query": query,
        "statuses": blast.recipients.model.Status.choices,
        "contact": contact,
        "preview": blast_preview(blast=blast, contact=contact) if contact else None,
        "schedule_form": ScheduleForm(),
        "editable": blast.status in EDITABLE,
        "rate": blast_rate(blast.tenant_id),
    }
    return render(request, "marketing/blast/detail.html", context)


@tenant_required
@require_POST
def blast_test(request: HttpRequest, pk: int) -> HttpResponse:
    blast = get_blast_for_user(request.user, pk)
    contact = _preview_contact(request, blast, PreviewContactForm(request.POST).value("contact"))
    if contact is None:
        messages.error(request, _("Add a contact first: the test shows the message as a real contact gets it."))
    else:
        blast_send_test(acting_user=request.user, blast=blast, contact=contact)
        messages.success(request, _("A test email is on its way to %(email)s.") % {"email": request.user.email})
    return redirect("campaigns:blast_detail", pk=blast.pk)


@tenant_required
@require_POST
def blast_schedule_view(request: HttpRequest, pk: int) -> HttpResponse:
    blast = get_blast_for_user(request.user, pk)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a valid date and time, or leave it empty to send now."))
        return redirect("campaigns:blast_detail", pk=blast.pk)
    return domain_action(
        request,
        lambda: blast_schedule(acting_user=request.user, blast=blast, send_at=form.cleaned_data.get("send_at")),
        success=_("The blast is scheduled."),
        then=reverse("campaigns:blast_detail", kwargs={"pk": blast.pk}),
    )


@tenant_required
@require_POST
def blast_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    blast = get_blast_for_user(request.user, pk)
    return domain_action(
        request,
        lambda: blast_cancel(acting_user=request.user, blast=blast),
        success=_("The blast is cancelled: nobody else gets it."),
        then=reverse("campaigns:blast_detail", kwargs={"pk": blast.pk}),
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def marketing_settings(request: HttpRequest) -> HttpResponse:
    require_campaign_manager(request.user)
    current = MarketingSettings.objects.filter(tenant_id=request.tenant.pk).first() or MarketingSettings(
        tenant=request.tenant, blast_rate_per_minute=blast_rate(request.tenant.pk)
    )
    form = MarketingSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            marketing_settings_save(
                acting_user=request.user, blast_rate_per_minute=form.cleaned_data["blast_rate_per_minute"]
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("campaigns:settings")
    return render(request, "marketing/blast/settings.html", {"form": form}, status=form_status(form))
