"""Marketing campaign pages: the list with leads and won amount, a campaign's attribution figures (each a link to
its records), its form link, members and blasts; create and edit for managers and admins."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm.errors import DomainError
from crm.web import apply_domain_error, form_status, paginate, tenant_required
from marketing.access import (
    can_manage_campaigns,
    get_marketing_campaign_for_user,
    require_campaign_manager,
    require_campaigns,
)
from marketing.forms.marketing_campaign import CampaignListForm, MarketingCampaignForm
from marketing.forms.member import MemberPickForm, MemberSearchForm
from marketing.models import Blast, MarketingCampaign
from marketing.selectors.marketing_campaign import (
    campaign_figures,
    campaign_members,
    campaigns_visible_to,
    campaigns_with_figures,
    member_candidates,
    member_counts,
    with_won_amounts,
)
from marketing.services.marketing_campaign import CAMPAIGN_FIELDS, marketing_campaign_save
from marketing.services.member import members_pick

MEMBER_ROWS = 50


@tenant_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    require_campaigns(request.user)
    query = CampaignListForm(request.GET)
    campaigns = campaigns_visible_to(request.user)
    if query.value("q"):
        q = query.value("q")
        campaigns = campaigns.filter(Q(name__icontains=q) | Q(code__startswith=q.lower()))
    if query.value("status"):
        campaigns = campaigns.filter(status=query.value("status"))
    if query.value("kind"):
        campaigns = campaigns.filter(kind=query.value("kind"))
    campaigns = campaigns_with_figures(request.user, campaigns.order_by("-starts_on", "-pk"))
    page = paginate(request, campaigns)
    page.object_list = with_won_amounts(request.user, page.object_list)
    context = {
        "page": page,
        "query": query,
        "sees_costs": can_manage_campaigns(request.user),
        "statuses": MarketingCampaign.Status.choices,
        "kinds": MarketingCampaign.Kind.choices,
    }
    return render(request, "marketing/marketing_campaign/list.html", context)


def _save(request: HttpRequest, campaign: MarketingCampaign | None) -> HttpResponse:
    form = MarketingCampaignForm(request.POST or None, instance=campaign, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = {k: form.cleaned_data.get(k) for k in CAMPAIGN_FIELDS}
        try:
            campaign = marketing_campaign_save(acting_user=request.user, data=data, campaign=campaign)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("campaigns:detail", pk=campaign.pk)
    return render(
        request,
        "marketing/marketing_campaign/form.html",
        {"form": form, "campaign": campaign},
        status=form_status(form),
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest) -> HttpResponse:
    require_campaign_manager(request.user)
    return _save(request, None)


@tenant_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_marketing_campaign_for_user(request.user, pk)
    require_campaign_manager(request.user)
    return _save(request, campaign)


def form_link(campaign: MarketingCampaign) -> str:
    """The public lead form's address with the campaign's code: leads sent through it carry the campaign."""
    path = reverse("sales:public_lead_form", args=[campaign.tenant.slug])
    return f"{settings.SITE_URL}{path}?{urlencode({'utm_campaign': campaign.code})}"


def figure_links(campaign: MarketingCampaign) -> dict[str, str]:
    """Where each figure leads: the lead and opportunity lists filtered by the campaign's code."""
    leads = reverse("sales:lead_list")
    opportunities = reverse("sales:opportunity_list")
    code = campaign.code
    return {
        "leads": f"{leads}?{urlencode({'campaign': code, 'status': 'all'})}",
        "converted": f"{leads}?{urlencode({'campaign': code, 'status': 'converted'})}",
        "opportunities": f"{opportunities}?{urlencode({'campaign': code, 'status': 'all'})}",
        "won": f"{opportunities}?{urlencode({'campaign': code, 'status': 'won'})}",
    }


@tenant_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_marketing_campaign_for_user(request.user, pk)
    sees_costs = can_manage_campaigns(request.user)
    context = {
        "campaign": campaign,
        "figures": campaign_figures(request.user, campaign),
        "links": figure_links(campaign),
        "form_link": form_link(campaign),
        "sees_costs": sees_costs,
        "members": campaign_members(campaign)[:MEMBER_ROWS],
        "member_counts": member_counts(campaign),
        "member_rows": MEMBER_ROWS,
        "blasts": Blast.objects.filter(tenant_id=campaign.tenant_id, campaign=campaign).order_by("-created_at")[:20]
        if sees_costs
        else [],
    }
    return render(request, "marketing/marketing_campaign/detail.html", context)


@tenant_required
@require_http_methods(["GET", "POST"])
def member_pick_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Add members by hand: search contacts and leads, tick them, choose their status. The results alone answer
    htmx (as the search box changes)."""
    campaign = get_marketing_campaign_for_user(request.user, pk)
    require_campaign_manager(request.user)
    text = MemberSearchForm(request.GET).value("q")
    form = MemberPickForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = members_pick(
                acting_user=request.user,
                campaign=campaign,
                contact_ids=form.ids("contact"),
                lead_ids=form.ids("lead"),
                status=form.cleaned_data["status"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Members added: %(n)d.") % {"n": added})
            return redirect("campaigns:detail", pk=campaign.pk)
    candidates = member_candidates(request.user, campaign, text)
    ticked = set(form.data.getlist("people")) if form.is_bound else set()
    for kind in ("contact", "lead"):
        for person in candidates[f"{kind}s"]:
            person.ticked = f"{kind}:{person.pk}" in ticked and not person.is_member
    context = {"campaign": campaign, "form": form, "q": text, "candidates": candidates}
    if request.htmx and request.method == "GET":
        return render(request, "marketing/marketing_campaign/member_results.html", context)
    return render(request, "marketing/marketing_campaign/member_pick.html", context, status=form_status(form))
