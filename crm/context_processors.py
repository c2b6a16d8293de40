from django.conf import settings

from .models import Notification
from .registry import registry


def crm(request):
    """Navigation and the user menu's entries for the user's roles and the unread-notification count (one COUNT query)."""
    user = getattr(request, "user", None)
    tenant = getattr(request, "tenant", None)
    context = {"LANGUAGES": settings.LANGUAGES, "signup_enabled": settings.SIGNUP_ENABLED}
    if user is None or not user.is_authenticated or tenant is None:
        return context
    context["nav_entries"] = registry.nav_for(user)
    context["nav_items"] = registry.nav_items_for(user)
    context["user_menu"] = registry.user_menu_for(user)
    context["settings_pages"] = registry.settings_pages_for(user)
    context["unread_count"] = lambda: (
        Notification.objects.for_tenant(tenant).filter(recipient=user, read_at__isnull=True).count()
    )
    return context
