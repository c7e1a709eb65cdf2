"""The monthly report as an XLSX workbook: 概况 (summary and charts), 镇汇总, 学校明细.

Cells hold numbers, not formatted text, so the bureau can sort, sum and chart them; ratios
are fractions shown as percentages; an empty cell means there was nothing to measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .columns import Column, Format, school_columns, town_columns
from .monthly import MonthlyReport, SchoolRow, TownRow

__all__ = ["SHEETS", "write_xlsx"]

SHEETS = ("概况", "镇汇总", "学校明细")
_NUMBER_FORMATS = {Format.PERCENT: "0.0%", Format.MINUTES: "0.0", Format.COUNT: "0"}
_HEADER_FILL = PatternFill("solid", fgColor="E8EEF5")


def write_xlsx(report: MonthlyReport, path: Path | BinaryIO) -> None:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = SHEETS[0]
    towns = book.create_sheet(SHEETS[1])
    schools = book.create_sheet(SHEETS[2])
    town_cols = town_columns(report)
    _table(towns, town_cols, report.towns)
    _table(schools, school_columns(report), report.schools)
    _summary(summary, report)
    _charts(summary, towns, town_cols, len(report.towns), report)
    book.save(path)


def _table(
    sheet: Worksheet, columns: Sequence[Column], rows: Sequence[SchoolRow] | Sequence[TownRow]
) -> None:
    sheet.append([c.header for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        sheet.append([c.value(row) for c in columns])
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = 22 if column.format is Format.TEXT else 11
        number_format = _NUMBER_FORMATS.get(column.format)
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    sheet.freeze_panes = "B2"


def _summary(sheet: Worksheet, report: MonthlyReport) -> None:
    t = report.total
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["统计时段", report.period])
    sheet.append(["生成时间", f"{report.generated_at:%Y-%m-%d %H:%M}（北京时间）"])
    sheet.append([])
    rows: list[tuple[str, float | int | None, Format]] = [
        ("学校数", len(report.schools), Format.COUNT),
        ("违规事件", t.total, Format.COUNT),
        *((report.type_labels[k], t.violations[k], Format.COUNT) for k in report.types),
        ("重复违规", t.repeats, Format.COUNT),
        ("已确认", t.acknowledged, Format.COUNT),
        ("确认率", t.ack_rate, Format.PERCENT),
        ("确认用时中位数(分钟)", t.ack_median_min, Format.MINUTES),
        ("摄像头平均在线率", report.uptime, Format.PERCENT),
        ("巡查完成", t.inspections_done, Format.COUNT),
        ("巡查应完成", t.inspections_required, Format.COUNT),
        ("巡查完成率", t.inspection_rate, Format.PERCENT),
        ("陪餐完成", t.meals_done, Format.COUNT),
        ("陪餐应完成", t.meals_required, Format.COUNT),
        ("陪餐完成率", t.meal_rate, Format.PERCENT),
        ("巡查不合格项", t.failed_items, Format.COUNT),
    ]
    for label, value, fmt in rows:
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 2).number_format = _NUMBER_FORMATS[fmt]
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 30


def _charts(
    summary: Worksheet,
    towns: Worksheet,
    columns: Sequence[Column],
    n_towns: int,
    report: MonthlyReport,
) -> None:
    """Bar charts on the summary sheet, drawn from the 镇汇总 sheet's own cells."""
    if n_towns == 0:
        return
    index = {c.header: i for i, c in enumerate(columns, start=1)}
    names = Reference(towns, min_col=1, min_row=2, max_row=n_towns + 1)

    def chart(title: str, headers: Sequence[str], y_title: str, percent: bool) -> BarChart:
        bars = BarChart()
        bars.type, bars.title, bars.y_axis.title = "col", title, y_title
        bars.height, bars.width = 8, 18
        for header in headers:
            col = index[header]
            ref = Reference(towns, min_col=col, min_row=1, max_row=n_towns + 1)
            bars.add_data(ref, titles_from_data=True)
        bars.set_categories(names)
        if percent:
            bars.y_axis.number_format = "0%"
            bars.y_axis.scaling.min, bars.y_axis.scaling.max = 0, 1
        return bars

    types = [report.type_labels[t] for t in report.types]
    summary.add_chart(chart("各镇（办）违规事件数", types, "起", False), "D2")
    rates = ["摄像头在线率", "巡查完成率", "陪餐完成率"]
    summary.add_chart(chart("各镇（办）在线率与履职完成率", rates, "%", True), "D20")
