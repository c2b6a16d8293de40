"""Settings → pipelines and their stages (admins)."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.errors import DomainError
from crm.web import admin_required, apply_domain_error, domain_action, form_status, tenant_required
from sales.access import get_pipeline_for_admin, get_stage_for_admin
from sales.forms.pipeline import NewPipelineForm, PipelineForm, StageForm
from sales.models import Pipeline, Stage, StageKind
from sales.services.pipeline import (
    ensure_default_pipeline,
    pipeline_create,
    pipeline_delete,
    pipeline_update,
    stage_move,
    stage_remove,
    stage_restore,
    stage_save,
)


@admin_required
@require_http_methods(["GET", "POST"])
def pipeline_settings(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    ensure_default_pipeline(tenant)
    form = NewPipelineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = pipeline_create(acting_user=request.user, name=form.cleaned_data["name"])
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Pipeline “%(name)s” created.") % {"name": pipeline.name})
            return redirect("sales:pipeline_edit", pk=pipeline.pk)
    pipelines = list(
        Pipeline.objects.for_tenant(tenant)
        .annotate(open_count=Count("opportunities", filter=Q(opportunities__status=StageKind.OPEN)))
        .order_by("position", "pk")
    )
    stages: dict[int, list[Stage]] = defaultdict(list)
    for stage in Stage.objects.for_tenant(tenant).ordered():
        stages[stage.pipeline_id].append(stage)
    for pipeline in pipelines:
        pipeline.stage_list = stages[pipeline.pk]
    return render(
        request, "sales/settings/pipelines.html", {"form": form, "pipelines": pipelines}, status=form_status(form)
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def pipeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = get_pipeline_for_admin(request.user, pk)
    form = PipelineForm(
        request.POST if request.POST.get("form") == "pipeline" else None,
        initial={"name": pipeline.name, "is_active": pipeline.is_active},
    )
    stage_form = StageForm(request.POST if request.POST.get("form") == "stage" else None, initial={"probability": 50})
    if request.method == "POST":
        if form.is_bound and form.is_valid():
            try:
                pipeline_update(acting_user=request.user, pipeline=pipeline, **form.cleaned_data)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(request, _("Pipeline saved."))
                return redirect("sales:pipeline_edit", pk=pipeline.pk)
        elif stage_form.is_bound and stage_form.is_valid():
            try:
                stage_save(acting_user=request.user, pipeline=pipeline, **stage_form.cleaned_data)
            except DomainError as exc:
                apply_domain_error(stage_form, exc)
            else:
                messages.success(request, _("Stage added."))
                return redirect("sales:pipeline_edit", pk=pipeline.pk)
    stages = list(Stage.objects.filter(pipeline=pipeline).annotate(count=Count("opportunities")).ordered())
    errors = form.errors or stage_form.errors
    return render(
        request,
        "sales/settings/pipeline_edit.html",
        {"pipeline": pipeline, "form": form, "stage_form": stage_form, "stages": stages},
        status=422 if errors else 200,
    )


@tenant_required
@require_POST
def pipeline_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = get_pipeline_for_admin(request.user, pk)
    return domain_action(
        request,
        lambda: pipeline_delete(acting_user=request.user, pipeline=pipeline),
        success=_("Pipeline deleted."),
        then="sales:pipeline_settings",
        on_error=reverse("sales:pipeline_edit", kwargs={"pk": pipeline.pk}),
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_stage_for_admin(request.user, pk)
    form = StageForm(
        request.POST or None, closed=stage.is_closed, initial={"name": stage.name, "probability": stage.probability}
    )
    if request.method == "POST" and form.is_valid():
        try:
            stage_save(
                acting_user=request.user,
                pipeline=stage.pipeline,
                stage=stage,
                name=form.cleaned_data["name"],
                probability=form.cleaned_data.get("probability"),
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Stage saved."))
            return redirect("sales:pipeline_edit", pk=stage.pipeline_id)
    return render(request, "sales/settings/stage_form.html", {"stage": stage, "form": form}, status=form_status(form))


@tenant_required
@require_POST
def stage_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_stage_for_admin(request.user, pk)
    return domain_action(
        request,
        lambda: stage_move(acting_user=request.user, stage=stage, up=request.POST.get("direction") != "down"),
        then=reverse("sales:pipeline_edit", kwargs={"pk": stage.pipeline_id}),
    )


@tenant_required
@require_POST
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_stage_for_admin(request.user, pk)
    if request.POST.get("restore"):
        stage_restore(acting_user=request.user, stage=stage)
        messages.success(request, _("Stage “%(name)s” is in use again.") % {"name": stage.name})
        return redirect("sales:pipeline_edit", pk=stage.pipeline_id)
    archived = _("Stage “%(name)s” is no longer in use; its history stays for the reports.") % {"name": stage.name}
    deleted = _("Stage “%(name)s” deleted.") % {"name": stage.name}
    return domain_action(
        request,
        lambda: stage_remove(acting_user=request.user, stage=stage),
        success=lambda outcome: archived if outcome == "archived" else deleted,
        then=reverse("sales:pipeline_edit", kwargs={"pk": stage.pipeline_id}),
    )
