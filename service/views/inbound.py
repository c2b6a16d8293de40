"""Email posted by a mail provider (parsed fields, the raw message as the `email` field, or the raw message itself
as a message/rfc822 body) into a company's service desk. The company's secret travels in the X-Inbound-Secret
header; a wrong or missing one is 403, an unknown company 404. Answers 200 when filed or deliberately ignored, so
the provider does not retry an auto-reply.

A raw email with its attachments is far bigger than DATA_UPLOAD_MAX_MEMORY_SIZE, which Django applies to every
form field: this endpoint reads its body itself, up to SERVICE_INBOUND_MAX_BYTES (a bigger one is 413 with a clear
message), and parses the form from it, so the global limit stays as it is for every other request."""

from __future__ import annotations

import hmac
from email import policy
from email.parser import BytesParser

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse, QueryDict
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.models import Tenant
from crm.tenancy import tenant_context
from service.services.dispatch import service_settings
from service.services.inbound import MAX_BODY, MAX_FILES_READ, InboundMail, inbound_receive, parse_message


def _too_big() -> JsonResponse:
    limit = settings.SERVICE_INBOUND_MAX_BYTES // (1024 * 1024)
    return JsonResponse(
        {"error": "message too large", "message": f"The email is larger than {limit} MB, the most this desk takes."},
        status=413,
    )


def _form(request: HttpRequest, body: bytes) -> tuple[QueryDict, MultiValueDict]:
    """The posted form's fields and files, parsed from the body already read (multipart or urlencoded)."""
    content_type = request.META.get("CONTENT_TYPE", "")
    fields, files = QueryDict(mutable=True), MultiValueDict()
    if content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        form = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        for part in form.iter_parts() if form.is_multipart() else ():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                # Browsers and providers send UTF-8 names raw; the parser keeps their bytes as surrogates.
                filename = filename.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                files.appendlist(name, SimpleUploadedFile(filename, payload, part.get_content_type()))
            else:
                # Undecodable bytes survive as surrogates, so a raw `email` field is parsed from its own bytes.
                fields.appendlist(name, payload.decode(part.get_content_charset() or "utf-8", "surrogateescape"))
    elif content_type.startswith("application/x-www-form-urlencoded"):
        fields = QueryDict(body, mutable=True, encoding="utf-8")
    return fields, files


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
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.SERVICE_INBOUND_MAX_BYTES:
            return _too_big()
        body = request.read(settings.SERVICE_INBOUND_MAX_BYTES + 1)
        if len(body) > settings.SERVICE_INBOUND_MAX_BYTES:
            return _too_big()
        if request.META.get("CONTENT_TYPE", "").startswith("message/rfc822"):
            return _filed(inbound_receive(tenant=company, mail=parse_message(body)))
        post, uploaded = _form(request, body)
        raw = post.get("email", "")
        if raw:
            mail = parse_message(raw.encode("utf-8", "surrogateescape"))
        else:
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
                files=[f for key in uploaded for f in uploaded.getlist(key)][:MAX_FILES_READ],
            )
        return _filed(inbound_receive(tenant=company, mail=mail))


def _filed(ticket) -> JsonResponse:
    if ticket is None:
        return JsonResponse({"status": "ignored"})
    return JsonResponse({"status": "filed", "ticket": ticket.display_number})
