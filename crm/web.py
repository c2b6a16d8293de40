"""Shared web helpers of every app: login and role decorators, pagination (capped counts for big lists), the domain
error on a form or after a POST action (`domain_action`), the ids a bulk action was asked for."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from crm.access import require_admin, safe_redirect_url
from crm.errors import DomainError

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
        require_admin(request.user)
        return view(request, *args, **kwargs)

    return wrapper


def form_status(form) -> int:
    """The status of a page that shows a form: 422 when it has errors (htmx is configured to swap 422), else 200."""
    return 422 if form.errors else 200


def next_url(request: HttpRequest, default: str) -> str:
    """Where a `next=` parameter (posted or in the query) asks to go afterwards, if it stays on this site."""
    return safe_redirect_url(request, request.POST.get("next") or request.GET.get("next"), default)


def paginate(request: HttpRequest, queryset, per_page: int = PAGE_SIZE):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def apply_domain_error(form, error: DomainError) -> None:
    for field, message in error.errors:
        form.add_error(field if field in form.fields else None, message)


COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows: a list over a million customers shows "10,000+" instead of a full COUNT.
    The count runs on `count_queryset` (the filtered rows without display annotations) when given."""

    def __init__(self, object_list, per_page, *, count_queryset=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count_queryset = count_queryset if count_queryset is not None else object_list

    @cached_property
    def count(self) -> int:
        return self.count_queryset.order_by()[: COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP


class CappedIdPaginator(CappedPaginator):
    """A CappedPaginator over a sorted queryset of ids (`values_list("pk", flat=True)`) whose count and page would
    each do the same costly work (a visibility predicate over many rows, then the sort): the first COUNT_CAP + 1 ids
    are read in one query and both the count and every page come from them (a capped list has no page past them)."""

    @cached_property
    def head(self) -> list:
        return list(self.object_list[: COUNT_CAP + 1])

    @cached_property
    def count(self) -> int:
        return len(self.head)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(self.head[bottom:top], number, self)


def selected_ids(request: HttpRequest, limit: int = 500) -> tuple[str, list[int]]:
    """The record ids a bulk action was asked for — a confirmed form's "ids", the list's checked boxes, or ?ids= —
    as the raw value and as sorted integers (at most `limit`; junk gives none). The caller scopes them."""
    raw = request.POST.get("ids") or ",".join(request.POST.getlist("selected")) or request.GET.get("ids", "")
    try:
        return raw, sorted({int(x) for x in raw.split(",") if x.strip()})[:limit]
    except ValueError:
        return raw, []


def domain_action(
    request: HttpRequest, action: Callable[[], Any], *, success=None, then, on_error=None
) -> HttpResponse:
    """The end of a POST action that calls one service. Runs `action`; a DomainError it raises becomes an error
    message and the answer goes to `on_error` (default: `then`); else `success` is shown (a message, a callable of
    the action's result giving one, or None for none) and the answer goes to `then`. `then` and `on_error` are what
    `redirect()` takes (a URL, a view name, a model), or a response; `then` may be a callable of the result giving
    one of these (the record the action made), `on_error` a callable without arguments (a page built after the
    refusal)."""
    try:
        result = action()
    except DomainError as exc:
        messages.error(request, exc.message)
        target = then if on_error is None else on_error
        return _answer(target() if callable(target) else target)
    message = success(result) if callable(success) else success
    if message:
        messages.success(request, message)
    return _answer(then(result) if callable(then) else then)


def _answer(target) -> HttpResponse:
    return target if isinstance(target, HttpResponse) else redirect(target)
