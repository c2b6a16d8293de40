"""Reads of satisfaction surveys: which surveys a user sees, CSAT per agent, team, category and month (grouped in
SQL), the comments, NPS per round, and the CSAT figure the reports show.

CSAT is the share of answers rated 4 or 5; NPS is the percentage of promoters (9–10) minus the percentage of
detractors (0–6) among a round's answers. Both are None without answers, never a division by zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from crm.access import is_tenant_user
from crm.models import Role, Team
from crm.web import paginate
from service.models import NpsRound, SatisfactionSurvey

SATISFIED = Q(rating__gte=SatisfactionSurvey.SATISFIED)
LOW = Q(rating__lte=SatisfactionSurvey.LOW)
# Rows a breakdown table shows at most (the busiest first).
BREAKDOWN_ROWS = 50
COMMENTS_PER_PAGE = 25
ROUNDS_SHOWN = 20


def surveys_visible_to(user) -> QuerySet[SatisfactionSurvey]:
    """Admins: the tenant's surveys; managers: those of the teams they manage (recursively) or of those teams'
    agents; agents: their own. Others, and no user: none."""
    if not is_tenant_user(user):
        return SatisfactionSurvey.objects.none()
    qs = SatisfactionSurvey.objects.filter(tenant_id=user.tenant_id)
    if user.has_any_role(Role.ADMIN):
        return qs
    condition = Q(pk__in=[])
    if user.has_any_role(Role.AGENT):
        condition |= Q(agent_id=user.pk)
    if user.has_any_role(Role.MANAGER):
        managed = Team.objects.managed_by(user).values("pk")
        condition |= Q(team__in=managed) | Q(agent__team__in=managed)
    return qs.filter(condition)


def csat(satisfied: int, answers: int) -> float | None:
    return round(100 * satisfied / answers, 1) if answers else None


def nps(promoters: int, detractors: int, answers: int) -> float | None:
    return round(100 * (promoters - detractors) / answers, 1) if answers else None


def _figures(row: dict) -> dict:
    row["csat"] = csat(row["satisfied"], row["answers"])
    return row


def _grouped(answered: QuerySet, *fields: str, order: tuple[str, ...] = ("-answers",)) -> list[dict]:
    rows = (
        answered.order_by()
        .values(*fields)
        .annotate(answers=Count("pk"), satisfied=Count("pk", filter=SATISFIED), low=Count("pk", filter=LOW))
        .annotate(average=Avg("rating"))
        .order_by(*order)[:BREAKDOWN_ROWS]
    )
    return [_figures(dict(row)) for row in rows]


def answered_only(surveys: QuerySet) -> QuerySet:
    return surveys.filter(answered_at__isnull=False, rating__isnull=False)


def csat_breakdowns(surveys: QuerySet, tzinfo: dt.tzinfo | None = None) -> dict:
    """The overall figure and one table per agent, team, category and month of the answered surveys among
    `surveys` (already scoped and filtered): five queries whatever the number of rows."""
    answered = answered_only(surveys)
    total = answered.aggregate(
        answers=Count("pk"), satisfied=Count("pk", filter=SATISFIED), low=Count("pk", filter=LOW), average=Avg("rating")
    )
    return {
        "total": _figures(total),
        "agents": _grouped(answered, "agent_id", "agent__full_name", "agent__email"),
        "teams": _grouped(answered, "team_id", "team__name"),
        "categories": _grouped(answered, "category_id", "category__name"),
        "months": _grouped(
            answered.annotate(month=TruncMonth("answered_at", tzinfo=tzinfo)), "month", order=("-month",)
        ),
    }


def csat_comments(request, surveys: QuerySet):
    """The answered surveys with a comment among `surveys`, newest first, one page."""
    rows = (
        answered_only(surveys)
        .exclude(comment="")
        .select_related("ticket", "agent", "category")
        .order_by("-answered_at", "-pk")
    )
    return paginate(request, rows, COMMENTS_PER_PAGE)


def nps_rounds(user) -> list[NpsRound]:
    """The latest NPS rounds with their figures (administrators and managers; company-wide), one query."""
    if not is_tenant_user(user) or not user.has_any_role(Role.ADMIN, Role.MANAGER):
        return []
    rounds = (
        NpsRound.objects.filter(tenant_id=user.tenant_id)
        .annotate(
            invited=Count("responses"),
            sent=Count("responses", filter=Q(responses__status="sent")),
            answers=Count("responses", filter=Q(responses__score__isnull=False)),
            promoters=Count("responses", filter=Q(responses__score__gte=9)),
            passives=Count("responses", filter=Q(responses__score__in=[7, 8])),
            detractors=Count("responses", filter=Q(responses__score__lte=6)),
        )
        .order_by("-created_at", "-pk")[:ROUNDS_SHOWN]
    )
    result = list(rounds)
    for r in result:
        r.nps = nps(r.promoters, r.detractors, r.answers)
    return result


@dataclass(frozen=True)
class CsatFigure:
    answers: int
    satisfied: int
    csat: float | None


def csat_figure(user, start: dt.datetime | None = None, end: dt.datetime | None = None) -> CsatFigure | None:
    """The CSAT of the surveys `user` sees answered in [start, end): the reports' figure. None for users who see
    no survey results."""
    if not is_tenant_user(user) or not user.has_any_role(Role.ADMIN, Role.MANAGER, Role.AGENT):
        return None
    answered = answered_only(surveys_visible_to(user))
    if start is not None:
        answered = answered.filter(answered_at__gte=start)
    if end is not None:
        answered = answered.filter(answered_at__lt=end)
    row = answered.aggregate(answers=Count("pk"), satisfied=Count("pk", filter=SATISFIED))
    return CsatFigure(row["answers"], row["satisfied"], csat(row["satisfied"], row["answers"]))


def ticket_survey(ticket) -> SatisfactionSurvey | None:
    """The ticket's survey, for its page (whoever may open the ticket sees how its customer rated it)."""
    return SatisfactionSurvey.objects.filter(tenant_id=ticket.tenant_id, ticket_id=ticket.pk).first()
