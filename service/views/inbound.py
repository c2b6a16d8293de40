"""Email posted by a mail provider (parsed fields, or the raw message as `email`) into a company's service desk.
The company's secret travels in the X-Inbound-Secret header; a wrong or missing one is 403, an unknown company
404. Answers 200 when filed or deliberately ignored, so the provider does not retry an auto-reply."""

from __future__ import annotations

import hmac

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.models import Tenant
from crm.tenancy import tenant_context
from service.services.dispatch import service_settings
from service.services.inbound import MAX_BODY, MAX_FILES_READ, InboundMail, inbound_receive, parse_message

MAX_RAW = 10 * 1024 * 1024


@csrf_exempt
@require_POST
def inbound_email(request: HttpRequest, tenant: str) -> HttpResponse:
    company = Tenant.objects.filter(slug=tenant, is_active=True).first()
    if company is None:
        raise Http404
    with tenant_context(company.pk):
        secret = service_settings(company.pk).inbound_secret
        given = request.headers.get("X-Inbound-Secret", "")
        if not given or not hmac.compare_digest(given.encode(), secret.encode()):
            return HttpResponseForbidden("wrong secret")
        raw = request.POST.get("email", "")
        if raw:
            if len(raw) > MAX_RAW:
                return JsonResponse({"error": "message too large"}, status=413)
            mail = parse_message(raw.encode("utf-8", "surrogateescape"))
        else:
            post = request.POST
            if not post.get("from"):
                return JsonResponse({"error": "from is required"}, status=400)
            mail = InboundMail(
                from_email=post.get("from", "").strip()[:254],
                from_name=post.get("from_name", "").strip()[:100],
                to=[a.strip() for a in post.get("to", "").split(",") if a.strip()],
                subject=post.get("subject", "").strip()[:200],
                body=post.get("text", "").strip()[:MAX_BODY],
                message_id=post.get("message_id", "").strip()[:255],
                in_reply_to=post.get("in_reply_to", "").strip()[:255],
                references=post.get("references", "").split()[:50],
                auto_submitted=post.get("auto_submitted", "").strip().lower(),
                precedence=post.get("precedence", "").strip().lower(),
                files=[f for key in request.FILES for f in request.FILES.getlist(key)][:MAX_FILES_READ],
            )
        ticket = inbound_receive(tenant=company, mail=mail)
    if ticket is None:
        return JsonResponse({"status": "ignored"})
    return JsonResponse({"status": "filed", "ticket": ticket.display_number})
