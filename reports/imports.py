"""The import kind "target": monthly sales targets from a spreadsheet, on the shared import machine
(crm/imports/). One row per person (by login email) or team (by name) and month; a row replaces that month's target.
Managers import for the people and teams under them, administrators for everyone — the grid's rules."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

from crm.errors import DomainError
from crm.imports.kind import ImportKind, Row, RowStatus
from crm.imports.reader import Target
from crm.models import Role
from reports.forms.target import parse_amount, parse_count
from reports.models import SalesTarget
from reports.services.target import target_people, target_teams

TARGETS = (
    Target(
        "who",
        gettext_lazy("Person (email) or team"),
        ("销售", "人员", "邮箱", "团队", "email", "rep", "team", "who"),
        254,
        required=True,
    ),
    Target("month", gettext_lazy("Month"), ("月份", "月", "month"), 20, required=True),
    Target(
        "amount", gettext_lazy("Target amount"), ("目标", "目标金额", "金额", "target", "amount"), 30, required=True
    ),
    Target("new_customers", gettext_lazy("New customers"), ("新客户", "新客户数", "new customers"), 10),
)

MONTH = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:月)?(?:[-/.]\s*\d{1,2}\s*日?)?\s*$")


def parse_month(text: str) -> dt.date | None:
    """2026-03, 2026/3, 2026.03, 2026年3月 or 2026-03-01 → the first day of that month."""
    match = MONTH.match(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    year = int(match.group(1))
    return dt.date(year, int(match.group(2)), 1) if 2000 <= year <= 2100 else None


@dataclass
class TargetRow(Row):
    target: dict[str, Any] = field(default_factory=dict)


class TargetKind(ImportKind):
    key = "target"
    label = gettext_lazy("Sales targets")
    title = gettext_lazy("Import sales targets")
    description = gettext_lazy(
        "One target per row, below a header row: the person's login email (or a team's name), the month (e.g. "
        "2026-03) and the amount; optionally the number of new customers. A row replaces that month's target."
    )
    mapping_hint = gettext_lazy("Choose the columns of the person or team, the month and the amount.")
    targets = TARGETS
    audit_action = "reports.targets_import"
    list_url_name = "reports:targets"
    upload_url_name = "reports:target_import"
    roles = (Role.ADMIN, Role.MANAGER)
    refusal = gettext_lazy("Only managers and administrators set sales targets.")
    result_text = ngettext_lazy(
        "%(created)d target imported, %(rejected)d rows rejected.",
        "%(created)d targets imported, %(rejected)d rows rejected.",
        "created",
    )

    @classmethod
    def check_mapping(cls, columns: dict[str, int]) -> None:
        missing = [key for key in ("who", "month", "amount") if key not in columns]
        if missing:
            raise DomainError(
                _("Choose the columns of the person or team, the month and the amount."), field=missing[0]
            )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.people = {u.email.lower(): u.pk for u in target_people(self.user)}
        self.teams = {t.name.strip(): t.pk for t in target_teams(self.user)}
        self.seen: dict[tuple[str, int, dt.date], int] = {}

    def classify(self, batch: list[tuple[int, list[str]]]) -> list[TargetRow]:
        rows = []
        for number, cells in batch:
            row = self.row(number, cells, TargetRow)
            who = row.get("who").strip()
            if who.lower() in self.people:
                owner = ("user", self.people[who.lower()])
            elif who in self.teams:
                owner = ("team", self.teams[who])
            else:
                owner = None
                row.refuse("who", _("Not a person or team you set targets for."))
            month = parse_month(row.get("month"))
            if month is None:
                row.refuse("month", _("Enter a month such as 2026-03."))
            amount, error = parse_amount(row.get("amount"))
            if error or amount is None:
                row.refuse("amount", error or _("Enter an amount, e.g. 50000."))
            customers, error = parse_count(row.get("new_customers"))
            if error:
                row.refuse("new_customers", error)
            if row.status == RowStatus.VALID and owner is not None and month is not None:
                key = (*owner, month)
                if key in self.seen:
                    row.refuse(
                        "month", _("Row %(row)d of this file already sets this month.") % {"row": self.seen[key]}
                    )
                else:
                    self.seen[key] = number
                    row.target = {
                        f"{owner[0]}_id": owner[1],
                        "month": month,
                        "amount": amount,
                        "new_customers": customers,
                    }
            rows.append(row)
        return rows

    def create(self, rows: list[TargetRow]) -> list[TargetRow]:
        """Set each row's month (an existing target of that month is replaced); nothing is refused here, the
        permission was checked when the rows were read and is re-checked by the machine when the import starts."""
        for row in rows:
            data = dict(row.target)
            SalesTarget.objects.update_or_create(
                tenant=self.tenant,
                month=data.pop("month"),
                **{k: data.pop(k) for k in ("user_id", "team_id") if k in data},
                defaults={**data, "created_by": self.user},
            )
        return []
