from django import template
from django.conf import settings
from django.template.base import render_value_in_context
from django.urls import reverse
from django.utils.html import conditional_escape, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from crm.money import format_money
from reports.selectors import drilldown

register = template.Library()

# The figures of a leaderboard row that open their records, with the test id of their link (None: no test id).
_RECORD_CELLS = (
    ("won", "won"),
    ("new_customers", None),
    ("followups", "followups"),
    ("tasks_on_time", None),
    ("tasks_late", None),
    ("claims", None),
    ("fallbacks", None),
)
# The everyday list a cell links to beside its figure (not in the PDF).
_LIST_AFTER = {"new_customers": "new_customers", "tasks_late": "tasks_done"}


@register.simple_tag
def list_url(scope, figure: str, person=None) -> str:
    """The customer, lead or task list behind a dashboard's figure, with the report's period, team and person."""
    return drilldown.list_url(scope, figure, person)


@register.simple_tag
def filter_options(field) -> str:
    """The options of a report filter's select (team, rep, pipeline) after its "all" entry, the chosen one selected:
    built here, as a manager's rep filter lists every person of their teams (hundreds of options on every
    dashboard)."""
    current = str(field.value())
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if str(value) == current else "", label) for value, label in field.field.choices if value),
    )


@register.simple_tag(takes_context=True)
def leaderboard_rows(context, performance, scope, query: str, pdf=False) -> str:
    """The rows of the team leaderboard (`reports/partials/team_body.html`): rank, person, each figure linked to its
    records and, on the page, to the everyday list. Written here rather than as a template loop: a leaderboard of
    200 people is 2,000 linked cells, and the template engine's per-cell work (a lookup per variable, a URL and a
    translation per link) was most of the page's time. Values are rendered as the template renders them
    (localized, escaped); the URLs every row shares are built once."""
    records = f"{reverse('reports:records')}?metric="
    tail = conditional_escape(f"&{query}&rep=")
    # The person's page: its path reversed once, the id put in its place.
    rep_head, rep_tail = reverse("reports:rep", args=[0]).rsplit("/0/", 1)
    after = {metric: _list_links(scope, figure) for metric, figure in (*_LIST_AFTER.items(), ("response", "leads"))}
    currency = scope.currency
    rows = []
    for rank, r in enumerate(performance.reps, start=1):
        pk, user = r.user.pk, r.user
        name = conditional_escape(user.full_name)
        person = name if pdf else f'<a href="{rep_head}/{pk}/{rep_tail}">{name}</a>'
        team = user.team.name if user.team_id and user.team else ""
        cells = [
            f"<td>{_number(rank, context)}</td>",
            f'<td>{person} <span class="small text-body-secondary">{conditional_escape(team)}</span></td>',
            f'<td class="text-end"><a href="{records}won_amount{tail}{pk}" data-testid="won-amount-{pk}">'
            f"{conditional_escape(format_money(r.won_amount, currency, decimals=0))}</a></td>",
        ]
        for metric, testid in _RECORD_CELLS:
            mark = f' data-testid="{testid}-{pk}"' if testid else ""
            cell = f'<a href="{records}{metric}{tail}{pk}"{mark}>{_number(getattr(r, metric), context)}</a>'
            if metric in after and not pdf:
                cell += after[metric](pk)
            cells.append(f'<td class="text-end">{cell}</td>')
        if r.response_hours is not None:
            hours = gettext("%(h)s h") % {"h": render_value_in_context(r.response_hours, context)}
        else:
            hours = "—"
        if not pdf:
            hours += after["response"](pk)
        cells.append(f'<td class="text-end">{hours}</td>')
        rows.append(f'<tr data-testid="team-row-{pk}">\n      ' + "\n      ".join(cells) + "\n    </tr>")
    return mark_safe("\n    ".join(rows))  # noqa: S308 - every value above is escaped or rendered escaped


@register.simple_tag(takes_context=True)
def activity_rows(context, activity, scope, query: str, pdf=False) -> str:
    """The rows of the activity table (`reports/partials/activity_body.html`): per person the follow-ups of each
    kind, then the follow-ups, overdue tasks and customers not followed up, linked to their records and, on the page,
    to the everyday lists. Written here for the reason `leaderboard_rows` is; values rendered as the template
    renders them."""
    records = f"{reverse('reports:records')}?metric="
    tail = conditional_escape(f"&{query}&rep=")
    lists = {figure: _list_links(scope, figure) for figure in ("overdue_tasks", "stale_customers")}
    rows = []
    for p in activity.people:
        pk, user = p.user.pk, p.user
        team = user.team.name if user.team_id and user.team else ""
        kinds = "".join(f'<td class="text-end">{_number(n, context)}</td>' for n in p.kinds())
        overdue = f'<a href="{records}overdue_tasks{tail}{pk}" data-testid="overdue-{pk}">'
        overdue += f"{_number(p.overdue_tasks, context)}</a>"
        stale = f'<a href="{records}stale_customers{tail}{pk}" data-testid="stale-{pk}">'
        stale += f"{_number(p.stale_customers, context)}</a>"
        if not pdf:
            overdue += lists["overdue_tasks"](pk)
            stale += lists["stale_customers"](pk)
        cells = [
            f'<td>{conditional_escape(user.full_name)} <span class="small text-body-secondary">'
            f"{conditional_escape(team)}</span></td>",
            kinds,
            f'<td class="text-end"><a href="{records}followups{tail}{pk}">{_number(p.followups, context)}</a></td>',
            f'<td class="text-end">{overdue}</td>',
            f'<td class="text-end">{stale}</td>',
        ]
        rows.append(f'<tr data-testid="activity-row-{pk}">\n      ' + "\n      ".join(cells) + "\n    </tr>")
    return mark_safe("\n    ".join(rows))  # noqa: S308 - every value above is escaped or rendered escaped


def _number(value, context) -> str:
    """A count as the template renders it (a plain int needs no localizing without thousand separators)."""
    if type(value) is int and not settings.USE_THOUSAND_SEPARATOR:
        return str(value)
    return render_value_in_context(value, context)


def _list_links(scope, figure: str):
    """The link to the everyday list of `figure` put after a row's figure, per person's id."""
    url = drilldown.list_urls_per_person(scope, figure)
    title, label = conditional_escape(gettext("Open in the list")), conditional_escape(gettext("list"))
    return lambda pk: (
        f' <a class="small" href="{conditional_escape(url(pk))}" data-testid="list-{figure}-{pk}" title="{title}">'
        f"{label}</a>"
    )
