"""The monthly assessment (月度考核) figures of each school and town, from the database.

Per school, for one local calendar month of the district:
- violations: detector events that started in the month, by type;
- repeats: violations of a type the school had already had earlier in the month;
- acknowledged and the median minutes from start to acknowledgement;
- camera uptime: the mean of its enabled cameras' uptimes (hub.health.uptime);
- inspection and accompany-meal duties: per rule, records done (capped at what the rule
  requires, so extra rounds for one rule do not hide a missed one) against required; for
  a month still running, required is what is due by the report's time (`required_by`), and
  the period line says "截至" that time;
- failed checklist items (不合格) in the month's finished rounds;
- the canteen's A/B grade from config.

A town's figures are its schools' sums; its uptime is the mean over its cameras, like the
uptime API; bureau-direct schools form the group "局直学校".
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.alerts.routing import AlertPolicy
from hub.config import Duty, HubConfig, School
from hub.config.detection import ViolationType
from hub.health.queries import camera_uptimes
from hub.health.uptime import Uptime, rollup
from hub.supervision import (
    DutyRecord,
    Window,
    counts,
    duty_records,
    month_window,
    required_by,
)
from storage.db.models import Event, EventKind
from storage.db.models_supervision import InspectionItem, InspectionRound, ItemResult

__all__ = [
    "DIRECT_GROUP",
    "MONTH_PATTERN",
    "Figures",
    "MonthlyReport",
    "SchoolRow",
    "TownRow",
    "monthly_report",
    "parse_month",
]

MONTH_PATTERN = r"^20\d{2}-(0[1-9]|1[0-2])$"  # YYYY-MM, this century
DIRECT_GROUP = ""  # the town id of bureau-direct schools in the report
VIOLATION_TYPES: tuple[str, ...] = tuple(str(t) for t in ViolationType)


@dataclass(slots=True)
class Figures:
    """What is counted for a school, and summed for a town or the district."""

    violations: Counter[str] = field(default_factory=Counter)
    repeats: int = 0
    acknowledged: int = 0
    ack_minutes: list[float] = field(default_factory=list)  # one per acknowledged event
    inspections_done: int = 0
    inspections_required: int = 0
    meals_done: int = 0
    meals_required: int = 0
    failed_items: int = 0

    @property
    def total(self) -> int:
        return sum(self.violations.values())

    @property
    def ack_median_min(self) -> float | None:
        return statistics.median(self.ack_minutes) if self.ack_minutes else None

    @property
    def ack_rate(self) -> float | None:
        return self.acknowledged / self.total if self.total else None

    @property
    def inspection_rate(self) -> float | None:
        return _rate(self.inspections_done, self.inspections_required)

    @property
    def meal_rate(self) -> float | None:
        return _rate(self.meals_done, self.meals_required)

    def add(self, other: Figures) -> None:
        self.violations.update(other.violations)
        self.repeats += other.repeats
        self.acknowledged += other.acknowledged
        self.ack_minutes += other.ack_minutes
        self.inspections_done += other.inspections_done
        self.inspections_required += other.inspections_required
        self.meals_done += other.meals_done
        self.meals_required += other.meals_required
        self.failed_items += other.failed_items


def parse_month(text: str) -> tuple[int, int]:
    """'2026-11' -> (2026, 11); ValueError for anything else."""
    if not re.fullmatch(MONTH_PATTERN, text):
        raise ValueError(f"not a month: {text!r} (e.g. 2026-11)")
    return int(text[:4]), int(text[5:])


def _rate(done: int, required: int) -> float | None:
    return done / required if required else None


@dataclass(slots=True)
class SchoolRow:
    school: School
    town_name: str
    figures: Figures
    uptime: float | None


@dataclass(slots=True)
class TownRow:
    town_id: str  # DIRECT_GROUP for the bureau-direct schools
    name: str
    schools: int
    figures: Figures
    uptime: float | None


@dataclass(slots=True)
class MonthlyReport:
    district: str
    year: int
    month: int
    town: str | None  # the town it was limited to, if any
    window: Window
    generated_at: datetime  # aware, district time
    types: tuple[str, ...]
    type_labels: dict[str, str]
    schools: list[SchoolRow]
    towns: list[TownRow]
    total: Figures
    uptime: float | None

    @property
    def period(self) -> str:
        """The month's first and last local day, as the report prints them."""
        last = self.window.end - timedelta(days=1)
        span = f"{self.window.start:%Y-%m-%d} 至 {last:%Y-%m-%d}"
        if self.generated_at < self.window.end:  # a month in progress: figures so far
            span += f"，截至 {self.generated_at:%Y-%m-%d %H:%M}"
        return f"{span}（北京时间）"

    @property
    def title(self) -> str:
        scope = next((t.name for t in self.towns if t.town_id == self.town), None)
        where = f"{self.district}·{scope}" if scope else self.district
        return f"{where} 明厨亮灶监管月报（{self.year}年{self.month}月）"


async def monthly_report(
    session: AsyncSession,
    config: HubConfig,
    year: int,
    month: int,
    *,
    town: str | None = None,
    school_ids: Iterable[str] | None = None,
    now: datetime | None = None,
) -> MonthlyReport:
    """The report for one local month; `town` and `school_ids` narrow the schools it covers."""
    tz = ZoneInfo(config.district.timezone)
    now = now or datetime.now(UTC)
    window = month_window(year, month, tz)
    allowed = None if school_ids is None else set(school_ids)
    schools = [
        s
        for s in config.schools
        if (town is None or s.town == town) and (allowed is None or s.id in allowed)
    ]
    ids = [s.id for s in schools]
    by_school = {s.id: Figures() for s in schools}
    await _count_events(session, ids, window, by_school)
    await _count_failed_items(session, ids, window, by_school)
    records = await duty_records(session, ids, window, tz)
    for school in schools:
        _count_duties(school, config, records, window, now, by_school[school.id])

    cameras = {c.id: s.id for s in schools for c in s.cameras if c.enabled}
    figures = await camera_uptimes(
        session, list(cameras), (window.start, window.end), min(now, window.end)
    )
    town_names = {t.id: t.name for t in config.towns} | {DIRECT_GROUP: "局直学校"}
    school_uptime = rollup(figures, cameras)
    school_rows = [
        SchoolRow(
            school=s,
            town_name=town_names.get(s.town or DIRECT_GROUP, s.town or ""),
            figures=by_school[s.id],
            uptime=school_uptime.get(s.id),
        )
        for s in schools
    ]
    towns = _towns(school_rows, figures, cameras, town_names)
    total = Figures()
    for row in school_rows:
        total.add(row.figures)
    policy = AlertPolicy(config)
    return MonthlyReport(
        district=config.district.name,
        year=year,
        month=month,
        town=town,
        window=window,
        generated_at=now.astimezone(tz),
        types=VIOLATION_TYPES,
        type_labels={t: policy.type_label(t) for t in VIOLATION_TYPES},
        schools=school_rows,
        towns=towns,
        total=total,
        uptime=_mean([f.ratio for f in figures.values()]),
    )


async def _count_events(
    session: AsyncSession, ids: Sequence[str], window: Window, by_school: dict[str, Figures]
) -> None:
    rows = await session.execute(
        select(Event.school_id, Event.type, Event.started_at, Event.acknowledged_at)
        .where(
            Event.kind == str(EventKind.VIOLATION),
            Event.school_id.in_(ids),
            Event.started_at >= window.start,
            Event.started_at < window.end,
        )
        .order_by(Event.started_at, Event.id)
    )
    seen: set[tuple[str, str]] = set()
    for school_id, event_type, started_at, acknowledged_at in rows:
        if school_id is None:  # the query selects schools' events only
            continue
        figures = by_school[school_id]
        figures.violations[event_type] += 1
        if (school_id, event_type) in seen:
            figures.repeats += 1
        seen.add((school_id, event_type))
        if acknowledged_at is not None:
            figures.acknowledged += 1
            figures.ack_minutes.append((acknowledged_at - started_at).total_seconds() / 60)


async def _count_failed_items(
    session: AsyncSession, ids: Sequence[str], window: Window, by_school: dict[str, Figures]
) -> None:
    rows = await session.execute(
        select(InspectionRound.school_id, func.count())
        .join(InspectionItem, InspectionItem.round_id == InspectionRound.id)
        .where(
            InspectionRound.school_id.in_(ids),
            InspectionRound.finished_at.is_not(None),
            InspectionRound.started_at >= window.start,
            InspectionRound.started_at < window.end,
            InspectionItem.result == str(ItemResult.FAIL),
        )
        .group_by(InspectionRound.school_id)
    )
    for school_id, failed in rows:
        by_school[school_id].failed_items = failed


def _count_duties(
    school: School,
    config: HubConfig,
    records: Sequence[DutyRecord],
    window: Window,
    now: datetime,
    figures: Figures,
) -> None:
    for rule in config.supervision.duties:
        if not rule.covers(school):
            continue
        required = required_by(rule, window, now)
        done = min(required, sum(counts(rule, school.id, records, window).values()))
        if rule.duty is Duty.INSPECTION:
            figures.inspections_done += done
            figures.inspections_required += required
        else:
            figures.meals_done += done
            figures.meals_required += required


def _towns(
    rows: Sequence[SchoolRow],
    uptimes: dict[str, Uptime],
    cameras: dict[str, str],
    names: dict[str, str],
) -> list[TownRow]:
    group_of_school = {r.school.id: r.school.town or DIRECT_GROUP for r in rows}
    town_uptime = rollup(uptimes, {c: group_of_school[s] for c, s in cameras.items()})
    out: dict[str, TownRow] = {}
    for row in rows:
        group = group_of_school[row.school.id]
        town = out.get(group)
        if town is None:
            town = out[group] = TownRow(
                group, names.get(group, group), 0, Figures(), town_uptime.get(group)
            )
        town.schools += 1
        town.figures.add(row.figures)
    order = list(names)  # config order, the bureau-direct group last
    return sorted(out.values(), key=lambda t: order.index(t.town_id))


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
