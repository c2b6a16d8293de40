"""The public ticket form of a company (/f/<company>/ticket/): the lead form's protections — a honeypot, a signed
fill-time token and a rate limit per address (django-ratelimit on crm.access.client_ip) — then the sender is
matched to a contact by email (customers.services.sender) and the ticket is dispatched like any other."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from crm.antirobot import HONEYPOT, issue_token, read_token
from crm.errors import DomainError
from crm.models import Tenant
from crm.tenancy import tenant_context
from crm.web import apply_domain_error
from customers.services.sender import customer_for_sender
from service.forms.public import PublicTicketForm
from service.models import Channel
from service.services.ticket import ticket_create

logger = logging.getLogger(__name__)

PURPOSE = "ticket"
MIN_SECONDS = 3
MAX_AGE_SECONDS = 24 * 3600


def _tenant_or_404(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
    if tenant is None:
        raise Http404
    return tenant


def _language(request: HttpRequest, tenant: Tenant) -> str:
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    return chosen if chosen in dict(settings.LANGUAGES) else tenant.language or settings.LANGUAGE_CODE


def _render(request, tenant, form, status=200):
    context = {"tenant": tenant, "form": form, "token": issue_token(tenant.pk, purpose=PURPOSE), "honeypot": HONEYPOT}
    return render(request, "service/public/ticket_form.html", context, status=status)


@csrf_protect
@require_http_methods(["GET", "POST"])
def public_ticket_form(request: HttpRequest, tenant: str) -> HttpResponse:
    company = _tenant_or_404(tenant)
    with tenant_context(company.pk), translation.override(_language(request, company)):
        response = _handle(request, company)
        response.headers.setdefault("Content-Language", translation.get_language())
    response["Cache-Control"] = "no-store"
    return response


def _handle(request: HttpRequest, tenant: Tenant) -> HttpResponse:
    if request.method == "GET":
        return _render(request, tenant, PublicTicketForm())
    form = PublicTicketForm(request.POST, request.FILES)
    if is_ratelimited(
        request, group=f"service:ticketform:{tenant.pk}", key="ip", rate=settings.LEAD_FORM_RATE, increment=True
    ):
        logger.info("Ticket form of tenant %s: rate limit reached for an address", tenant.pk)
        form.is_valid()
        form.add_error(
            None, _("Many messages came from your network just now. Please wait a few minutes and send again.")
        )
        return _render(request, tenant, form, status=429)
    if request.POST.get(HONEYPOT, "").strip():
        logger.info("Ticket form of tenant %s: honeypot filled, submission dropped", tenant.pk)
        return redirect("service:public_ticket_thanks", tenant=tenant.slug)
    shown_at = read_token(request.POST.get("ts", ""), tenant.pk, purpose=PURPOSE)
    now = timezone.now().timestamp()
    if shown_at is None or now - shown_at > MAX_AGE_SECONDS:
        form.is_valid()
        form.add_error(None, _("This form has expired. Please check your details and send it again."))
        return _render(request, tenant, form, status=400)
    if now - shown_at < float(getattr(settings, "LEAD_FORM_MIN_SECONDS", MIN_SECONDS)):
        form.is_valid()
        form.add_error(None, _("That was quick! Please check your details and send the form again."))
        return _render(request, tenant, form, status=400)
    if not form.is_valid():
        return _render(request, tenant, form, status=422)
    data = form.cleaned_data
    try:
        customer, contact = customer_for_sender(
            tenant=tenant, email=data["email"], name=data["name"], company=data["company"], phone=data["phone"]
        )
        ticket_create(
            tenant=tenant,
            acting_user=None,
            customer=customer,
            contact=contact,
            subject=data["subject"],
            description=data["description"],
            channel=Channel.WEB,
            files=data["attachments"],
        )
    except DomainError as exc:
        apply_domain_error(form, exc)
        return _render(request, tenant, form, status=422)
    return redirect("service:public_ticket_thanks", tenant=tenant.slug)


@require_GET
def public_ticket_thanks(request: HttpRequest, tenant: str) -> HttpResponse:
    company = _tenant_or_404(tenant)
    with translation.override(_language(request, company)):
        return render(request, "service/public/thanks.html", {"tenant": company})
