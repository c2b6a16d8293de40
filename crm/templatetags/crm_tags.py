from functools import lru_cache

from django import forms, template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import is_aware, localtime

from crm.money import format_money
from crm.services.notification import notification_text

register = template.Library()

# A stand-in id: no real row has it, and its digits appear in no URL pattern.
_PK_MARK = 987654321987654321


@lru_cache(maxsize=256)
def _pk_url_parts(name: str, prefix: str, urlconf) -> tuple[str, str]:
    head, _mark, tail = reverse(name, args=[_PK_MARK], urlconf=urlconf).partition(str(_PK_MARK))
    return head, tail


@register.simple_tag
def pk_url(name: str, pk) -> str:
    """`{% url name pk %}` for a pattern whose one argument is an `<int:pk>`, without resolving the pattern per
    call: reversed once per name (and script prefix), then the id put in. For pages that link hundreds of rows (the
    board's cards), where `{% url %}` per row is a good share of the page's time."""
    head, tail = _pk_url_parts(name, get_script_prefix(), get_urlconf())
    return f"{head}{int(pk)}{tail}"


@register.filter
def bs_widget(bound_field):
    """Render a form field's widget with Bootstrap classes (also for Django's own auth forms)."""
    widget = bound_field.field.widget
    if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
        return bound_field.as_widget()
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    if bound_field.errors:
        css += " is-invalid"
    existing = widget.attrs.get("class", "")
    return bound_field.as_widget(attrs={"class": f"{existing} {css}".strip()})


@register.filter
def is_checkbox(bound_field) -> bool:
    return isinstance(bound_field.field.widget, forms.CheckboxInput)


@register.filter
def is_multi_checkbox(bound_field) -> bool:
    return isinstance(bound_field.field.widget, forms.CheckboxSelectMultiple | forms.RadioSelect)


@register.simple_tag(takes_context=True)
def nav_active(context, entry) -> str:
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    if not match:
        return ""
    current = match.view_name
    prefix = entry.active_prefix or (entry.url_name.split(":")[0] + ":" if ":" in entry.url_name else entry.url_name)
    # Several prefixes, comma-separated, when an app's namespace holds pages of two entries.
    return "active" if current == entry.url_name or current.startswith(tuple(prefix.split(","))) else ""


@register.simple_tag(takes_context=True)
def nav_group_active(context, item) -> str:
    """ "active" when one of the group's entries is the current page."""
    return "active" if any(nav_active(context, entry) for entry in item.entries) else ""


@register.simple_tag
def url_or_empty(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@register.simple_tag(takes_context=True)
def query_transform(context, **kwargs) -> str:
    """The current query string with some parameters replaced (keeps filters when paging)."""
    params = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


@register.filter
def startswith(value: str, prefix: str) -> bool:
    return bool(prefix) and str(value).startswith(str(prefix))


@register.filter
def active_filters(form) -> int:
    """How many of a list's filters are set (the sort is not a filter): the phone's "Filter (2)" button."""
    data = form.data
    count = 0
    for name in form.fields:
        if name in ("sort", "page"):
            continue
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        count += any(v not in (None, "") for v in values)
    return count


@register.filter
def money(amount, currency="CNY") -> str:
    """An amount with its currency's symbol and thousands separators, in the reader's language (crm.money)."""
    return format_money(amount, currency)


@register.filter
def money_whole(amount, currency="CNY") -> str:
    """As `money`, rounded to whole units (totals, report figures)."""
    return format_money(amount, currency, decimals=0)


@register.filter
def in_reader_language(notification, part: str = "title") -> str:
    """A notification's title (or body) in the language the reader has now."""
    return notification_text(notification, part)


@register.filter
def reltime(value) -> str:
    """A moment as "5 minutes ago" / "5分钟前" (django.contrib.humanize's naturaltime, in the reader's language) in a
    <time> element whose title is the absolute local time: every list and the notification bell say times alike."""
    if not value:
        return ""
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        date_format(localtime(value) if is_aware(value) else value, "SHORT_DATETIME_FORMAT"),
        naturaltime(value),
    )
