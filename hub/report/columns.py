"""The report's tables, once for both the PDF and the XLSX: headers and raw cell values.

A cell is a number (an int count, a float ratio or minutes), a string, or None for "no
data" (no cameras observed, no duty required). Each writer formats the values its way:
the XLSX keeps them numbers so a bureau can sum and sort them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .monthly import Figures, MonthlyReport, SchoolRow

__all__ = ["Cell", "Column", "Format", "Part", "format_cell", "school_columns", "town_columns"]

Cell = int | float | str | None


class Part(Enum):
    """Which of the PDF's two tables a column is in (the XLSX has them side by side)."""

    NAME = "name"  # in both
    VIOLATIONS = "violations"
    DUTIES = "duties"


class Format(Enum):
    TEXT = "text"
    COUNT = "count"
    PERCENT = "percent"
    MINUTES = "minutes"


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    value: Callable[[Any], Cell]  # of a SchoolRow or a TownRow
    format: Format = Format.COUNT
    part: Part = Part.VIOLATIONS


def _figure_columns(
    report: MonthlyReport, figures: Callable[[Any], Figures], uptime: Callable[[Any], Cell]
) -> list[Column]:
    def count_of(violation_type: str) -> Callable[[Any], Cell]:
        return lambda r: figures(r).violations[violation_type]

    per_type = [Column(report.type_labels[t], count_of(t)) for t in report.types]
    return [
        *per_type,
        Column("违规合计", lambda r: figures(r).total),
        Column("重复违规", lambda r: figures(r).repeats),
        Column("已确认", lambda r: figures(r).acknowledged),
        Column("确认率", lambda r: figures(r).ack_rate, Format.PERCENT),
        Column("确认用时中位数(分钟)", lambda r: figures(r).ack_median_min, Format.MINUTES),
        Column("摄像头在线率", uptime, Format.PERCENT, Part.DUTIES),
        Column("巡查完成", lambda r: figures(r).inspections_done, part=Part.DUTIES),
        Column("巡查应完成", lambda r: figures(r).inspections_required, part=Part.DUTIES),
        Column("巡查完成率", lambda r: figures(r).inspection_rate, Format.PERCENT, Part.DUTIES),
        Column("陪餐完成", lambda r: figures(r).meals_done, part=Part.DUTIES),
        Column("陪餐应完成", lambda r: figures(r).meals_required, part=Part.DUTIES),
        Column("陪餐完成率", lambda r: figures(r).meal_rate, Format.PERCENT, Part.DUTIES),
        Column("巡查不合格项", lambda r: figures(r).failed_items, part=Part.DUTIES),
    ]


def school_columns(report: MonthlyReport) -> list[Column]:
    return [
        Column("学校", lambda r: r.school.name, Format.TEXT, Part.NAME),
        Column("所属", lambda r: r.town_name, Format.TEXT, Part.NAME),
        Column("食堂等级", _grade, Format.TEXT, Part.NAME),
        *_figure_columns(report, lambda r: r.figures, lambda r: r.uptime),
    ]


def _grade(row: SchoolRow) -> str:
    return str(row.school.grade) if row.school.grade else "未定级"


def town_columns(report: MonthlyReport) -> list[Column]:
    return [
        Column("镇（办）", lambda r: r.name, Format.TEXT, Part.NAME),
        Column("学校数", lambda r: r.schools, part=Part.NAME),
        *_figure_columns(report, lambda r: r.figures, lambda r: r.uptime),
    ]


def format_cell(value: Cell, fmt: Format) -> str:
    """A cell as the PDF prints it; "—" where there is nothing to measure."""
    if value is None:
        return "—"
    if fmt is Format.PERCENT:
        return f"{float(value) * 100:.1f}%"
    if fmt is Format.MINUTES:
        return f"{float(value):.1f}"
    return str(value)
