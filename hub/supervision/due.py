"""Which duties fall due tomorrow and are not done yet, and who owes them. Pure functions.

A weekly or monthly duty falls due at the end of its period (Sunday night, the month's last
night, district time). On the day before, a rule whose period has fewer records than it
needs (compliance.statuses: the period's `done` against `times`) is due tomorrow. Daily
duties are left out: they fall due every night, and a reminder every evening for each would
teach people to ignore reminders; the compliance view flags them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Final

from hub.config import DutyPeriod, DutyRole, DutyRule, School
from hub.config.alerts import Recipient, RecipientRole

from .compliance import DutyStatus, period_window

__all__ = ["REMINDED_PERIODS", "due_tomorrow", "owners"]

REMINDED_PERIODS: Final = (DutyPeriod.WEEK, DutyPeriod.MONTH)

# The alert recipients who carry a duty role: supervision.duties name account roles,
# alerts.recipients name their own; a recipient owes a school's duty where it sits.
_RECIPIENT_ROLE: Final = {
    DutyRole.SCHOOL_PRINCIPAL: RecipientRole.PRINCIPAL,
    DutyRole.CANTEEN_MANAGER: RecipientRole.CANTEEN_MANAGER,
    DutyRole.TOWN_STAFF: RecipientRole.TOWN_STAFF,
    DutyRole.DISTRICT_STAFF: RecipientRole.DISTRICT_DESK,
}


def due_tomorrow(rows: Iterable[DutyStatus], now: datetime, tz: tzinfo) -> list[DutyStatus]:
    """The statuses (as of `now`) whose period ends with tomorrow and still lacks records."""
    tomorrow = period_window(DutyPeriod.DAY, now, tz).end
    tomorrow_ends = period_window(DutyPeriod.DAY, tomorrow, tz).end
    return [
        row
        for row in rows
        if row.rule.per in REMINDED_PERIODS
        and row.window.end == tomorrow_ends
        and row.done < row.rule.times
    ]


def owners(rule: DutyRule, school: School, recipients: Sequence[Recipient]) -> list[Recipient]:
    """The recipients who owe `rule` at `school`: a role of the rule, at that school, its
    town, or the district desk."""
    roles = {_RECIPIENT_ROLE[r] for r in rule.roles}
    return [p for p in recipients if p.role in roles and _covers(p, school)]


def _covers(person: Recipient, school: School) -> bool:
    if person.school is not None:
        return person.school == school.id
    if person.town is not None:
        return person.town == school.town
    return True  # the district desk
