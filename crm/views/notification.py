"""The user's notifications: list, bell, mark read."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from crm.access import safe_redirect_url
from crm.models import Notification, User
from crm.registry import registry
from crm.services.notification import notification_mark_all_read, notification_mark_read
from crm.web import paginate, tenant_required


def attach_notification_actions(request: HttpRequest, notifications) -> None:
    """Give each notification the buttons an app registered for its key (e.g. approve/reject) as `actions_html`,
    a bounded number of queries per registered kind."""
    notifications = list(notifications)
    for actions in registry.notification_actions_for(request.user):
        mine = [n for n in notifications if n.key.startswith(actions.key_prefix)]
        if not mine:
            continue
        contexts = actions.context(request, mine)
        for n in mine:
            if n.pk in contexts:
                n.actions_html = render_to_string(actions.template, contexts[n.pk], request=request)


def _unread_count(user: User) -> int:
    return Notification.objects.for_tenant(user.tenant).filter(recipient=user, read_at__isnull=True).count()


@tenant_required
@vary_on_headers("HX-Request")
def notification_list(request: HttpRequest) -> HttpResponse:
    qs = Notification.objects.for_tenant(request.tenant).filter(recipient=request.user)
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        qs = qs.filter(read_at__isnull=True)
    page = paginate(request, qs)
    attach_notification_actions(request, page)
    context = {"page": page, "only_unread": only_unread, "unread_count": _unread_count(request.user)}
    template = "crm/partials/notification_rows.html" if request.htmx else "crm/notifications.html"
    return render(request, template, context)


@tenant_required
def notification_bell(request: HttpRequest) -> HttpResponse:
    latest = Notification.objects.for_tenant(request.tenant).filter(recipient=request.user)[:5]
    return render(request, "crm/partials/bell.html", {"unread_count": _unread_count(request.user), "latest": latest})


@tenant_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        notification = notification_mark_read(user=request.user, notification_id=pk)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc
    if request.POST.get("follow") and safe_redirect_url(request, notification.url, ""):
        return redirect(notification.url)
    if request.htmx:
        attach_notification_actions(request, [notification])
        return render(request, "crm/partials/notification_row.html", {"n": notification})
    return redirect("notifications")


@tenant_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = notification_mark_all_read(user=request.user)
    messages.success(request, _("%(count)d notifications marked as read.") % {"count": count})
    return redirect("notifications")
