"""Settings → Group robots (admins): WeCom, DingTalk and Feishu robots that post chosen notifications."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access import require_admin
from crm.errors import DomainError
from crm.forms import RobotChannelForm
from crm.models import RobotChannel
from crm.services.notification import ROBOT_EVENTS, robot_channel_save, robot_channel_set_active, robot_channel_test
from crm.web import admin_required, apply_domain_error, domain_action, form_status, tenant_required


@admin_required
def robot_list(request: HttpRequest) -> HttpResponse:
    form = RobotChannelForm(request.POST or None, tenant=request.tenant, events=ROBOT_EVENTS)
    if request.method == "POST" and form.is_valid():
        try:
            robot_channel_save(acting_user=request.user, **form.cleaned_data)
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, _("The robot is set up."))
            return redirect("settings:robots")
    robots = RobotChannel.objects.for_tenant(request.tenant).select_related("team").order_by("name")[:200]
    context = {"form": form, "robots": robots, "event_labels": ROBOT_EVENTS}
    return render(request, "crm/settings/robots.html", context, status=form_status(form))


@tenant_required
@require_POST
def robot_set_active_view(request: HttpRequest, pk: int) -> HttpResponse:
    robot = RobotChannel.objects.for_tenant(request.tenant).filter(pk=pk).first()
    if robot is None:
        raise Http404
    require_admin(request.user)
    robot_channel_set_active(acting_user=request.user, channel=robot, is_active=not robot.is_active)
    return redirect("settings:robots")


def _robot_for_admin(request: HttpRequest, pk: int) -> RobotChannel:
    """The company's robot, else 404 (another company's too); then 403 for anyone but an administrator."""
    robot = RobotChannel.objects.for_tenant(request.tenant).select_related("team").filter(pk=pk).first()
    if robot is None:
        raise Http404
    require_admin(request.user)
    return robot


@tenant_required
def robot_edit(request: HttpRequest, pk: int) -> HttpResponse:
    robot = _robot_for_admin(request, pk)
    initial = {"kind": robot.kind, "name": robot.name, "url": robot.url, "team": robot.team, "events": robot.events}
    form = RobotChannelForm(
        request.POST or None, tenant=request.tenant, events=ROBOT_EVENTS, editing=True, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        remove_secret = data.pop("remove_secret", False)
        if remove_secret:
            data["secret"] = ""
        elif not data["secret"]:
            data["secret"] = robot.secret
        try:
            robot_channel_save(acting_user=request.user, channel=robot, is_active=robot.is_active, **data)
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, _("The robot is saved."))
            return redirect("settings:robot_edit", pk=robot.pk)
    context = {"form": form, "robot": robot, "event_labels": ROBOT_EVENTS}
    return render(request, "crm/settings/robot_edit.html", context, status=form_status(form))


@tenant_required
@require_POST
def robot_test_view(request: HttpRequest, pk: int) -> HttpResponse:
    robot = _robot_for_admin(request, pk)
    return domain_action(
        request,
        lambda: robot_channel_test(acting_user=request.user, channel=robot),
        success=_("A test message is on its way to the robot's group; Outgoing messages shows whether it arrived."),
        then=reverse("settings:robot_edit", kwargs={"pk": robot.pk}),
    )
