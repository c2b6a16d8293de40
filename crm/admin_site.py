"""The operators' Django admin site: it says whose data it shows.

Operators (superusers) belong to no tenant, and the admin is served as the app role like every page, so tenant
tables show the rows of one company at a time: the one chosen with the "Show this company's data" action on the
company list (crm.admin), kept in the operator's session (crm.middleware.TenantMiddleware). The header names it.
"""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Tenant
from .tenancy import OPERATOR_TENANT_SESSION_KEY


class OperatorAdminSite(admin.AdminSite):
    site_header = gettext_lazy("CRM operators")
    site_title = gettext_lazy("CRM operators")

    def has_permission(self, request):
        # Operators always log in with a second factor (crm.services.two_factor).
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request, extra_context=None):
        # One login page for everyone, with its code step and its lockout; it comes back here afterwards.
        return redirect_to_login(request.GET.get("next") or request.path.replace("login/", ""))

    def each_context(self, request):
        context = super().each_context(request)
        tenant_id = request.session.get(OPERATOR_TENANT_SESSION_KEY) if hasattr(request, "session") else None
        tenant = Tenant.objects.filter(pk=tenant_id).first() if tenant_id else None
        if tenant is not None:
            shown = _("showing the data of %(company)s") % {"company": tenant.name}
        else:
            shown = _("no company chosen: choose one under Tenants to see its data")
        context["site_header"] = f"{self.site_header} · {shown}"
        return context
