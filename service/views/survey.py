"""Survey pages: the contact's answer page behind the signed link (`/s/<token>/`, no login, CSRF-protected,
rate-limited per address, in the tenant's language), the one-click unsubscribe of NPS invitations, the results
page (CSAT per agent, team, category and month; comments; NPS rounds) and starting an NPS round."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from crm.access import require_admin
from crm.errors import DomainError
from crm.models import Tenant
from crm.tenancy import tenant_context
from crm.web import apply_domain_error, form_status, tenant_required
from customers.services.contact import contact_unsubscribe
from service.filters import SurveyFilter
from service.forms.survey import CsatAnswerForm, NpsAnswerForm, NpsRoundForm
from service.models import NpsResponse, SatisfactionSurvey
from service.selectors.survey import csat_breakdowns, csat_comments, nps_rounds, surveys_visible_to
from service.services.nps import nps_answer, nps_round_create
from service.services.survey import CSAT, NPS, read_survey_token, survey_answer

logger = logging.getLogger(__name__)


def _row(token: str):
    """The survey (CSAT) or invitation (NPS) a signed token names, with its tenant; 404 for anything else."""
    found = read_survey_token(token)
    if found is None or found[0] not in (CSAT, NPS):
        raise Http404
    kind, tenant_id, pk = found
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        raise Http404
    with tenant_context(tenant_id):
        if kind == CSAT:
            row = SatisfactionSurvey.objects.filter(tenant_id=tenant_id, pk=pk).select_related("ticket").first()
        else:
            row = NpsResponse.objects.filter(tenant_id=tenant_id, pk=pk).select_related("round", "contact").first()
    if row is None:
        raise Http404
    return kind, tenant, row


def _public(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    form = context.get("form")
    if form is not None:
        context["answer_field"] = form["rating" if context["kind"] == CSAT else "score"]
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    response.headers.setdefault("Content-Language", translation.get_language())
    return response


@csrf_protect
@require_http_methods(["GET", "POST"])
def survey_answer_view(request: HttpRequest, token: str) -> HttpResponse:
    kind, tenant, row = _row(token)
    expires_at = row.expires_at if kind == CSAT else row.round.expires_at
    form_class = CsatAnswerForm if kind == CSAT else NpsAnswerForm
    with tenant_context(tenant.pk), translation.override(tenant.language or settings.LANGUAGE_CODE):
        context = {"tenant": tenant, "kind": kind, "row": row, "expired": timezone.now() > expires_at}
        if request.method == "GET":
            initial = {"comment": row.comment}
            initial["rating" if kind == CSAT else "score"] = row.rating if kind == CSAT else row.score
            context["form"] = form_class(initial=initial)
            return _public(request, "service/survey/answer.html", context)
        form = form_class(request.POST)
        context["form"] = form
        if is_ratelimited(request, group="service:survey", key="ip", rate=settings.SURVEY_ANSWER_RATE, increment=True):
            logger.info("Survey answers of tenant %s: rate limit reached for an address", tenant.pk)
            form.is_valid()
            form.add_error(None, _("Many answers came from your network just now. Please wait a few minutes."))
            return _public(request, "service/survey/answer.html", context, status=429)
        if not form.is_valid():
            return _public(request, "service/survey/answer.html", context, status=422)
        data = form.cleaned_data
        try:
            if kind == CSAT:
                survey_answer(tenant_id=tenant.pk, survey_id=row.pk, rating=data["rating"], comment=data["comment"])
            else:
                nps_answer(tenant_id=tenant.pk, response_id=row.pk, score=data["score"], comment=data["comment"])
        except DomainError as exc:
            apply_domain_error(form, exc)
            return _public(request, "service/survey/answer.html", context, status=422)
        return _public(request, "service/survey/thanks.html", context)


# Mail clients post the one-click request (RFC 8058) without a CSRF token; the signed token is the credential and
# unsubscribing twice changes nothing.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def survey_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    kind, tenant, row = _row(token)
    if kind != NPS:
        raise Http404
    with tenant_context(tenant.pk), translation.override(tenant.language or settings.LANGUAGE_CODE):
        done = row.contact.unsubscribed_at is not None
        if request.method == "POST":
            contact_unsubscribe(tenant_id=tenant.pk, contact_id=row.contact_id, source="NPS survey link")
            done = True
        return _public(request, "service/survey/unsubscribe.html", {"tenant": tenant, "done": done})


def _require_results(user) -> None:
    if not user.has_any_role("admin", "manager", "agent"):
        raise PermissionDenied(_("Only service agents, managers and administrators see survey results."))


@tenant_required
def survey_results(request: HttpRequest) -> HttpResponse:
    """CSAT per agent, team, category and month, the comments (filtered, paginated) and the NPS rounds."""
    _require_results(request.user)
    surveys = surveys_visible_to(request.user)
    filterset = SurveyFilter(request.GET or None, queryset=surveys, request=request)
    answered = filterset.qs
    page = csat_comments(request, answered)
    context = {
        "filter": filterset,
        "breakdowns": csat_breakdowns(answered, request.tenant.tzinfo),
        "page": page,
        "rounds": nps_rounds(request.user),
    }
    template = "service/survey/partials/results.html" if request.htmx else "service/survey/results.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@tenant_required
@require_http_methods(["GET", "POST"])
def nps_round_create_view(request: HttpRequest) -> HttpResponse:
    require_admin(request.user)
    form = NpsRoundForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            nps_round, invited = nps_round_create(
                acting_user=request.user,
                name=data["name"],
                query=form.audience_query(),
                audience=data.get("audience") or "",
                days=data["days"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("The survey “%(name)s” goes to %(count)s contacts, at the company's sending rate.")
                % {"name": nps_round.name, "count": invited},
            )
            return redirect("service:survey_results")
    return render(request, "service/survey/nps_form.html", {"form": form}, status=form_status(form))
