from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from . import services
from .filters import AuditEventFilter, OutboundMessageFilter, UserFilter
from .forms import LanguageForm, SignupForm, TeamForm, TenantSettingsForm, UserForm
from .models import AuditEvent, Notification, OutboundMessage, Role, Team, User
from .registry import registry

PAGE_SIZE = 50


def tenant_required(view: Callable) -> Callable:
    """Logged in as a user of an active tenant (operators use Django admin, not the CRM pages)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if request.tenant is None:
            raise PermissionDenied(_("This page is for users of a company."))
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: Callable) -> Callable:
    @tenant_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        _require_admin(request)
        return view(request, *args, **kwargs)

    return wrapper


def paginate(request: HttpRequest, queryset, per_page: int = PAGE_SIZE):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def apply_domain_error(form, error: services.DomainError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


# --- access helpers (same 404 for missing and for another tenant's id) ------------------------------------------


def _require_admin(request: HttpRequest) -> None:
    if not request.user.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only administrators of this company may open this page."))


def get_user_for_admin(request: HttpRequest, pk: int) -> User:
    # Look up within the tenant first: another tenant's id is 404 for everyone, then the role decides 403.
    user = get_object_or_404(User.objects.for_tenant(request.tenant).select_related("team"), pk=pk)
    _require_admin(request)
    return user


def get_team_for_admin(request: HttpRequest, pk: int) -> Team:
    team = get_object_or_404(Team.objects.for_tenant(request.tenant), pk=pk)
    _require_admin(request)
    return team


# --- home ----------------------------------------------------------------------------------------------------


@tenant_required
def home(request: HttpRequest) -> HttpResponse:
    widgets = []
    for widget in registry.home_widgets_for(request.user):
        widgets.append({"widget": widget, "context": widget.context(request)})
    return render(request, "crm/home.html", {"widgets": widgets})


# --- sign-up and language -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.SIGNUP_ENABLED:
        raise Http404
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None, initial={"language": request.LANGUAGE_CODE})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant = services.tenant_create(
                name=data["company"],
                slug=data["slug"],
                admin_email=data["admin_email"],
                admin_password=data["password"],
                admin_name=data["full_name"],
                language=data["language"],
            )
        except services.DomainError as exc:
            apply_domain_error(form, exc)
        else:
            admin = User.objects.get(tenant=tenant, email=data["admin_email"])
            login(request, admin, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your company %(name)s is ready.") % {"name": tenant.name})
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    form = LanguageForm(request.POST)
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = redirect(next_url)
    if form.is_valid():
        language = form.cleaned_data["language"]
        if request.user.is_authenticated and request.user.tenant_id:
            services.user_set_language(user=request.user, language=language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


# --- notifications -------------------------------------------------------------------------------------------


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
        notification = services.notification_mark_read(user=request.user, notification_id=pk)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc
    if (
        request.POST.get("follow")
        and notification.url
        and url_has_allowed_host_and_scheme(notification.url, allowed_hosts={request.get_host()})
    ):
        return redirect(notification.url)
    if request.htmx:
        attach_notification_actions(request, [notification])
        return render(request, "crm/partials/notification_row.html", {"n": notification})
    return redirect("notifications")


@tenant_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notification_mark_all_read(user=request.user)
    messages.success(request, _("%(count)d notifications marked as read.") % {"count": count})
    return redirect("notifications")


# --- settings ------------------------------------------------------------------------------------------------


@admin_required
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "crm/settings/index.html", {"pages": registry.settings_pages_for(request.user)})


@admin_required
@require_http_methods(["GET", "POST"])
def tenant_settings(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    form = TenantSettingsForm(request.POST or None, instance=tenant)
    if request.method == "POST" and form.is_valid():
        services.tenant_update(
            acting_user=request.user, tenant=tenant, **{f: form.cleaned_data[f] for f in form.Meta.fields}
        )
        messages.success(request, _("Company settings saved."))
        return redirect("settings:tenant")
    return render(request, "crm/settings/tenant.html", {"form": form})


@admin_required
@vary_on_headers("HX-Request")
def user_list(request: HttpRequest) -> HttpResponse:
    base = User.objects.for_tenant(request.tenant).select_related("team")
    filterset = UserFilter(request.GET or None, queryset=base, tenant=request.tenant)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    page = paginate(request, qs.order_by("full_name", "pk"))
    template = "crm/settings/partials/user_table.html" if request.htmx else "crm/settings/users.html"
    return render(request, template, {"filter": filterset, "page": page})


@admin_required
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserForm(request.POST or None, tenant=request.tenant, initial={"roles": [Role.REP], "send_invite": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(
                acting_user=request.user,
                tenant=request.tenant,
                email=data["email"],
                full_name=data["full_name"],
                roles=data["roles"],
                team=data["team"],
                phone=data["phone"],
                send_invite=data["send_invite"],
            )
        except services.DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.full_name})
            return redirect("settings:users")
    return render(request, "crm/settings/user_form.html", {"form": form, "creating": True})


@tenant_required
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_user_for_admin(request, pk)
    initial = {
        "full_name": user.full_name,
        "phone": user.phone,
        "roles": user.roles,
        "team": user.team,
        "language": user.language,
    }
    form = UserForm(request.POST or None, tenant=request.tenant, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.user_update(
                acting_user=request.user,
                user=user,
                full_name=data["full_name"],
                roles=data["roles"],
                team=data["team"],
                phone=data["phone"],
                language=data["language"],
            )
        except services.DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("User %(name)s saved.") % {"name": user.full_name})
            return redirect("settings:users")
    return render(request, "crm/settings/user_form.html", {"form": form, "target": user})


@tenant_required
@require_POST
def user_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_user_for_admin(request, pk)
    active = request.POST.get("active") == "1"
    try:
        services.user_set_active(acting_user=request.user, user=user, active=active)
    except services.DomainError as exc:
        messages.error(request, exc.message)
    else:
        if active:
            messages.success(request, _("%(name)s can log in again.") % {"name": user.full_name})
        else:
            messages.success(
                request,
                _("%(name)s is deactivated and can no longer log in; their records stay.") % {"name": user.full_name},
            )
    return redirect("settings:user_edit", pk=user.pk)


@admin_required
def team_list(request: HttpRequest) -> HttpResponse:
    teams = (
        Team.objects.for_tenant(request.tenant)
        .select_related("manager", "parent")
        .annotate(member_count=Count("members", filter=Q(members__is_active=True)))
        .order_by("path")
    )
    return render(request, "crm/settings/teams.html", {"teams": teams})


@admin_required
@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(acting_user=request.user, tenant=request.tenant, **form.cleaned_data)
        except services.DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Team %(name)s created.") % {"name": team.name})
            return redirect("settings:teams")
    return render(request, "crm/settings/team_form.html", {"form": form, "creating": True})


@tenant_required
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_team_for_admin(request, pk)
    form = TeamForm(
        request.POST or None,
        tenant=request.tenant,
        team=team,
        initial={"name": team.name, "parent": team.parent, "manager": team.manager},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.team_update(acting_user=request.user, team=team, **form.cleaned_data)
        except services.DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Team %(name)s saved.") % {"name": form.cleaned_data["name"]})
            return redirect("settings:teams")
    members = team.members.order_by("full_name")
    return render(request, "crm/settings/team_form.html", {"form": form, "team": team, "members": members})


@admin_required
def audit_log(request: HttpRequest) -> HttpResponse:
    base = AuditEvent.objects.for_tenant(request.tenant).select_related("actor")
    filterset = AuditEventFilter(request.GET or None, queryset=base, tenant=request.tenant)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    return render(
        request, "crm/settings/audit.html", {"filter": filterset, "page": paginate(request, qs.order_by("-at", "-id"))}
    )


STUCK_AFTER = timedelta(minutes=10)


@admin_required
def message_log(request: HttpRequest) -> HttpResponse:
    base = OutboundMessage.objects.for_tenant(request.tenant)
    filterset = OutboundMessageFilter(request.GET or None, queryset=base)
    qs = filterset.qs if filterset.is_bound and filterset.is_valid() else base
    page = paginate(request, qs.order_by("-created_at", "-id"))
    stuck_before = timezone.now() - STUCK_AFTER
    for message in page:
        # A message left in "sending" by a crash is shown as unknown: it may or may not have gone out.
        message.is_unknown = (
            message.status == OutboundMessage.Status.SENDING
            and message.sending_since
            and message.sending_since < stuck_before
        )
    return render(request, "crm/settings/messages.html", {"filter": filterset, "page": page})


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
