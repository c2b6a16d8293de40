"""The public lead form of a tenant (no login): a honeypot, a signed fill-time token and a rate limit per
address keep robots out."""

from __future__ import annotations

import logging

from csp.decorators import csp_replace
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from crm.antirobot import HONEYPOT, issue_token, read_token
from crm.errors import DomainError
from crm.models import Tenant
from crm.tenancy import tenant_context
from crm.web import apply_domain_error
from sales.forms.web_form import PublicLeadForm
from sales.models import LeadWebForm
from sales.services.web_form import lead_submit_web_form

logger = logging.getLogger(__name__)


# Default; settings.LEAD_FORM_MIN_SECONDS overrides it (the rate limit is settings.LEAD_FORM_RATE).
MIN_SECONDS = 3


MAX_AGE_SECONDS = 24 * 3600


def _setting(name: str, default):
    return getattr(settings, name, default)


def _web_form_or_404(slug: str) -> LeadWebForm:
    """The company's enabled form. Call it in the company's context (`_tenant_id_or_404`): a visitor has none."""
    web_form = (
        LeadWebForm.objects.select_related("tenant", "owner")
        .filter(tenant__slug=slug, tenant__is_active=True, is_enabled=True)
        .first()
    )
    if web_form is None:
        raise Http404
    return web_form


def _tenant_id_or_404(slug: str) -> int:
    """The company named in the address: the anonymous visitor's requests are served in its context."""
    tenant_id = Tenant.objects.filter(slug=slug, is_active=True).values_list("pk", flat=True).first()
    if tenant_id is None:
        raise Http404
    return tenant_id


def _over_rate_limit(request: HttpRequest, tenant_id: int) -> bool:
    """Count this submission for (tenant, client address) in the current window (django-ratelimit, keyed on
    crm.access.client_ip); True past settings.LEAD_FORM_RATE."""
    return is_ratelimited(
        request, group=f"sales:leadform:{tenant_id}", key="ip", rate=settings.LEAD_FORM_RATE, increment=True
    )


def _language(request: HttpRequest, web_form: LeadWebForm) -> str:
    """The visitor's chosen language (the language cookie), else the company's."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen in dict(settings.LANGUAGES):
        return chosen
    return web_form.tenant.language or settings.LANGUAGE_CODE


def _render_form(request: HttpRequest, web_form: LeadWebForm, form: PublicLeadForm, status: int = 200) -> HttpResponse:
    # Every rendering carries a fresh token: the fill time counts from when this form was shown.
    context = {
        "web_form": web_form,
        "form": form,
        "token": issue_token(web_form.tenant_id),
        "honeypot": HONEYPOT,
        "embedded": _embedded(request),
    }
    return render(request, "sales/public/lead_form.html", context, status=status)


def _embedded(request: HttpRequest) -> bool:
    return request.resolver_match is not None and request.resolver_match.url_name.startswith("public_lead_embed")


# Other sites may frame the embeddable form and its thank-you page (and nothing else of the CRM).
FRAMABLE = {"frame-ancestors": ["*"]}


def _serve(request: HttpRequest, tenant: str) -> HttpResponse:
    with tenant_context(_tenant_id_or_404(tenant)):
        web_form = _web_form_or_404(tenant)
        with translation.override(_language(request, web_form)):
            response = _handle(request, web_form)
            response.headers.setdefault("Content-Language", translation.get_language())
    response["Cache-Control"] = "no-store"
    return response


@csrf_protect
@require_http_methods(["GET", "POST"])
def public_lead_form(request: HttpRequest, tenant: str) -> HttpResponse:
    return _serve(request, tenant)


# In a frame on another site the browser withholds our CSRF cookie (SameSite), so the embedded form cannot carry
# Django's CSRF check. It needs none: its visitor is anonymous, with no session or authority a forged post could
# borrow, and the signed fill-time token (issued with each rendering, bound to the company), the honeypot and the
# rate limit per address are the checks that keep robots out, exactly as on the direct form.
@csrf_exempt
@xframe_options_exempt
@csp_replace(FRAMABLE)
@require_http_methods(["GET", "POST"])
def public_lead_embed(request: HttpRequest, tenant: str) -> HttpResponse:
    return _serve(request, tenant)


def _handle(request: HttpRequest, web_form: LeadWebForm) -> HttpResponse:
    tenant_id = web_form.tenant_id
    if request.method == "GET":
        initial = {
            "utm_campaign": request.GET.get("utm_campaign", "")[:100],
            "utm_source": request.GET.get("utm_source", "")[:50],
        }
        return _render_form(request, web_form, PublicLeadForm(web_form=web_form, initial=initial))

    form = PublicLeadForm(request.POST, web_form=web_form)
    if _over_rate_limit(request, tenant_id):
        logger.info("Lead form of tenant %s: rate limit reached for an address", tenant_id)
        form.is_valid()
        form.add_error(
            None, _("Many messages came from your network just now. Please wait a few minutes and send again.")
        )
        return _render_form(request, web_form, form, status=429)
    if request.POST.get(HONEYPOT, "").strip():
        # Only a robot fills a field nobody sees: thank it, save nothing.
        logger.info("Lead form of tenant %s: honeypot filled, submission dropped", tenant_id)
        return _thanks_redirect(request, web_form)
    shown_at = read_token(request.POST.get("ts", ""), tenant_id)
    now = timezone.now().timestamp()
    if shown_at is None or now - shown_at > MAX_AGE_SECONDS:
        form.is_valid()
        form.add_error(None, _("This form has expired. Please check your details and send it again."))
        return _render_form(request, web_form, form, status=400)
    if now - shown_at < float(_setting("LEAD_FORM_MIN_SECONDS", MIN_SECONDS)):
        form.is_valid()
        form.add_error(None, _("That was quick! Please check your details and send the form again."))
        return _render_form(request, web_form, form, status=400)
    if not form.is_valid():
        return _render_form(request, web_form, form, status=422)
    try:
        lead_submit_web_form(
            web_form=web_form,
            data=form.lead_data(),
            campaign=form.cleaned_data.get("utm_campaign", ""),
            source=form.cleaned_data.get("utm_source", ""),
            consent=bool(form.cleaned_data.get("consent")),
            privacy_version=form.cleaned_data.get("privacy_version"),
        )
    except DomainError as exc:
        apply_domain_error(form, exc)
        return _render_form(request, web_form, form, status=422)
    return _thanks_redirect(request, web_form)


def _thanks_redirect(request: HttpRequest, web_form: LeadWebForm) -> HttpResponse:
    name = "sales:public_lead_embed_thanks" if _embedded(request) else "sales:public_lead_thanks"
    return redirect(name, tenant=web_form.tenant.slug)


def _thanks(request: HttpRequest, tenant: str) -> HttpResponse:
    with tenant_context(_tenant_id_or_404(tenant)):
        web_form = _web_form_or_404(tenant)
        with translation.override(_language(request, web_form)):
            return render(request, "sales/public/thanks.html", {"web_form": web_form})


@require_GET
def public_lead_thanks(request: HttpRequest, tenant: str) -> HttpResponse:
    return _thanks(request, tenant)


@xframe_options_exempt
@csp_replace(FRAMABLE)
@require_GET
def public_lead_embed_thanks(request: HttpRequest, tenant: str) -> HttpResponse:
    return _thanks(request, tenant)
