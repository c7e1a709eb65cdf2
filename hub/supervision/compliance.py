"""Duty compliance, as pure functions: which duty records count for which rule and period.

A period is a local day, week (Monday first) or calendar month in the district's time zone.
A rule is on pace when its records so far reach `times` x the elapsed fraction of the
period, rounded down: two rounds a week need one by Thursday noon, both by Sunday night.
Behind pace is overdue. A month's requirement (the monthly report) is `times` per month,
per day x the month's days, or per week x its days / 7, rounded; while the month is still
running, only its part due by now counts, rounded down like the pace (`required_by`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from hub.config import Duty, DutyPeriod, DutyRule, School

__all__ = [
    "DutyRecord",
    "DutyStatus",
    "Window",
    "counts",
    "due_by",
    "lookback",
    "month_window",
    "period_window",
    "required_by",
    "required_in_month",
    "statuses",
]


@dataclass(frozen=True, slots=True)
class DutyRecord:
    """One finished inspection round or one accompany-meal record."""

    duty: Duty
    school_id: str
    person: str
    role: str
    at: datetime  # aware; a meal counts at noon of its local date


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime  # aware, local midnight
    end: datetime  # exclusive

    def __contains__(self, at: datetime) -> bool:
        return self.start <= at < self.end


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tz)


def month_window(year: int, month: int, tz: tzinfo) -> Window:
    first = date(year, month, 1)
    after = date(year + month // 12, month % 12 + 1, 1)
    return Window(_midnight(first, tz), _midnight(after, tz))


def period_window(per: DutyPeriod, now: datetime, tz: tzinfo) -> Window:
    """The day, week or month (local) that `now` falls in."""
    today = now.astimezone(tz).date()
    if per is DutyPeriod.DAY:
        return Window(_midnight(today, tz), _midnight(today + timedelta(days=1), tz))
    if per is DutyPeriod.WEEK:
        monday = today - timedelta(days=today.weekday())
        return Window(_midnight(monday, tz), _midnight(monday + timedelta(days=7), tz))
    return month_window(today.year, today.month, tz)


def previous_window(per: DutyPeriod, window: Window, tz: tzinfo) -> Window:
    return period_window(per, window.start - timedelta(seconds=1), tz)


def lookback(now: datetime, tz: tzinfo) -> Window:
    """Every window `statuses` looks at: from the start of last month to the end of today
    (a meal counts at noon of its date, which may still be ahead)."""
    this_month = period_window(DutyPeriod.MONTH, now, tz)
    last_month = previous_window(DutyPeriod.MONTH, this_month, tz)
    tomorrow = period_window(DutyPeriod.DAY, now, tz).end
    return Window(last_month.start, tomorrow)


def due_by(times: float, elapsed: float) -> int:
    """Records due once `elapsed` (0..1) of a period that needs `times` has passed: the pace."""
    return math.floor(times * elapsed)


def _per_month(rule: DutyRule, month: Window) -> float:
    days = (month.end.date() - month.start.date()).days
    if rule.per is DutyPeriod.DAY:
        return rule.times * days
    if rule.per is DutyPeriod.WEEK:
        return rule.times * days / 7
    return rule.times


def required_in_month(rule: DutyRule, month: Window) -> int:
    return math.floor(_per_month(rule, month) + 0.5)


def required_by(rule: DutyRule, month: Window, now: datetime) -> int:
    """What `month` requires of `rule` by `now`: all of it once the month is over, before that
    the part due so far (a report run mid-month must not count days still ahead)."""
    if now >= month.end:
        return required_in_month(rule, month)
    if now <= month.start:
        return 0
    return due_by(_per_month(rule, month), (now - month.start) / (month.end - month.start))


def counts(
    rule: DutyRule, school_id: str, records: Iterable[DutyRecord], window: Window
) -> Counter[str]:
    """Records fulfilling `rule` at the school within `window`, per person."""
    roles = {str(r) for r in rule.roles}
    return Counter(
        r.person
        for r in records
        if r.duty is rule.duty and r.school_id == school_id and r.role in roles and r.at in window
    )


@dataclass(frozen=True, slots=True)
class DutyStatus:
    school: School
    rule: DutyRule
    window: Window
    done: int
    due_by_now: int
    by_person: dict[str, int]
    previous: Window
    previous_done: int

    @property
    def overdue(self) -> bool:
        return self.done < self.due_by_now

    @property
    def previous_met(self) -> bool:
        return self.previous_done >= self.rule.times


def statuses(
    schools: Sequence[School],
    rules: Sequence[DutyRule],
    records: Sequence[DutyRecord],
    now: datetime,
    tz: tzinfo,
) -> list[DutyStatus]:
    """Each rule at each school it covers, in its current and previous period."""
    out = []
    for school in schools:
        for rule in rules:
            if not rule.covers(school):
                continue
            window = period_window(rule.per, now, tz)
            previous = previous_window(rule.per, window, tz)
            elapsed = (now - window.start) / (window.end - window.start)
            done = counts(rule, school.id, records, window)
            out.append(
                DutyStatus(
                    school=school,
                    rule=rule,
                    window=window,
                    done=sum(done.values()),
                    due_by_now=due_by(rule.times, elapsed),
                    by_person=dict(done),
                    previous=previous,
                    previous_done=sum(counts(rule, school.id, records, previous).values()),
                )
            )
    return out
