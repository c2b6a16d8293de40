"""The one-click unsubscribe link of every greeting: no login, a signed token names the contact."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from crm.models import Tenant
from crm.tenancy import tenant_context
from customers.models import Contact
from customers.services.contact import contact_unsubscribe
from marketing.services.greeting import read_unsubscribe_token


# Mail clients post the one-click request (RFC 8058) without a CSRF token; the signed token is the credential and
# unsubscribing twice changes nothing.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    ids = read_unsubscribe_token(token)
    if ids is None:
        raise Http404
    tenant_id, contact_id = ids
    with tenant_context(tenant_id):
        tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
        contact = Contact.objects.filter(tenant_id=tenant_id, pk=contact_id).first() if tenant else None
        if contact is None:
            raise Http404
        done = contact.unsubscribed_at is not None
        if request.method == "POST":
            contact_unsubscribe(tenant_id=tenant_id, contact_id=contact_id, source="unsubscribe link")
            done = True
        language = getattr(request.user, "effective_language", None) or tenant.language
        with translation.override(language):
            return render(
                request, "marketing/care/unsubscribe.html", {"tenant": tenant, "contact": contact, "done": done}
            )
