"""Settings → Customer levels and tags (admins): the levels customers are graded by and the tags they carry."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.access import require_admin
from crm.errors import DomainError
from crm.web import admin_required, apply_domain_error, domain_action, tenant_required
from customers.forms.level import LevelForm, TagForm
from customers.models import Customer, CustomerLevel, Tag
from customers.services.level import level_delete, level_save
from customers.services.tag import tag_delete, tag_save


def _page(request: HttpRequest, level_form: LevelForm, tag_form: TagForm, status: int = 200) -> HttpResponse:
    """Both lists with how many live customers use each entry: three queries whatever their number."""
    counts = dict(
        Customer.objects.filter(tenant=request.tenant, deleted_at__isnull=True, level__isnull=False)
        .values("level")
        .annotate(n=Count("pk"))
        .values_list("level", "n")
    )
    levels = CustomerLevel.objects.for_tenant(request.tenant).order_by("order", "code")
    tags = (
        Tag.objects.for_tenant(request.tenant)
        .annotate(n=Count("customers", filter=Q(customers__deleted_at__isnull=True)))
        .order_by("name")
    )
    context = {
        "levels": [(level, counts.get(level.pk, 0)) for level in levels],
        "tags": tags,
        "level_form": level_form,
        "tag_form": tag_form,
    }
    return render(request, "customers/settings/catalog.html", context, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def catalog_view(request: HttpRequest) -> HttpResponse:
    """The lists, and the forms that add a level or a tag."""
    level_form, tag_form = LevelForm(prefix="level"), TagForm(prefix="tag")
    if request.method == "POST":
        if "tag-name" in request.POST:
            tag_form = TagForm(request.POST, prefix="tag")
            if tag_form.is_valid():
                try:
                    tag_save(acting_user=request.user, **tag_form.cleaned_data)
                except DomainError as exc:
                    apply_domain_error(tag_form, exc)
                else:
                    messages.success(request, _("Tag saved."))
                    return redirect("customer_catalog")
        else:
            level_form = LevelForm(request.POST, prefix="level")
            if level_form.is_valid():
                try:
                    level_save(acting_user=request.user, **_level_values(level_form))
                except DomainError as exc:
                    apply_domain_error(level_form, exc)
                else:
                    messages.success(request, _("Level saved."))
                    return redirect("customer_catalog")
        return _page(request, level_form, tag_form, status=422)
    return _page(request, level_form, tag_form)


def _level_values(form: LevelForm) -> dict:
    data = form.cleaned_data
    return {
        "code": data["code"],
        "name": data["name"],
        "aliases": form.cleaned_aliases(),
        "order": data.get("order") or 0,
    }


def _level_for_admin(request: HttpRequest, pk: int) -> CustomerLevel:
    level = get_object_or_404(CustomerLevel.objects.for_tenant(request.tenant), pk=pk)
    require_admin(request.user)
    return level


def _tag_for_admin(request: HttpRequest, pk: int) -> Tag:
    tag = get_object_or_404(Tag.objects.for_tenant(request.tenant), pk=pk)
    require_admin(request.user)
    return tag


@tenant_required
@require_http_methods(["GET", "POST"])
def level_edit(request: HttpRequest, pk: int) -> HttpResponse:
    level = _level_for_admin(request, pk)
    initial = {"code": level.code, "name": level.name, "aliases": ", ".join(level.aliases), "order": level.order}
    form = LevelForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            level_save(acting_user=request.user, level=level, **_level_values(form))
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Level saved."))
            return redirect("customer_catalog")
    return render(
        request,
        "customers/settings/catalog_item.html",
        {"form": form, "item": level, "delete_url_name": "level_delete", "heading": _("Customer level")},
        status=422 if form.errors else 200,
    )


@tenant_required
@require_http_methods(["GET", "POST"])
def tag_edit(request: HttpRequest, pk: int) -> HttpResponse:
    tag = _tag_for_admin(request, pk)
    form = TagForm(request.POST or None, initial={"name": tag.name, "color": tag.color})
    if request.method == "POST" and form.is_valid():
        try:
            tag_save(acting_user=request.user, tag=tag, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            messages.success(request, _("Tag saved."))
            return redirect("customer_catalog")
    return render(
        request,
        "customers/settings/catalog_item.html",
        {"form": form, "item": tag, "delete_url_name": "tag_delete", "heading": _("Tag")},
        status=422 if form.errors else 200,
    )


@tenant_required
@require_POST
def level_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    level = _level_for_admin(request, pk)
    return domain_action(
        request,
        lambda: level_delete(acting_user=request.user, level=level),
        success=_("Level removed."),
        then="customer_catalog",
    )


@tenant_required
@require_POST
def tag_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    tag = _tag_for_admin(request, pk)
    return domain_action(
        request,
        lambda: tag_delete(acting_user=request.user, tag=tag),
        success=_("Tag removed."),
        then="customer_catalog",
    )
