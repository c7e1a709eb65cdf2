"""The monthly report as a zh-CN PDF a bureau files: A4 landscape, summary, charts, tables.

The font is Debian's WenQuanYi Micro Hei (package fonts-wqy-microhei, installed by `make
system-deps`): one font with both Chinese and Latin glyphs and digits (Droid Sans Fallback has
no digits). Its glyphs are embedded in the PDF so any reader shows them; nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Final

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .columns import Column, Format, Part, format_cell, school_columns, town_columns
from .monthly import MonthlyReport, SchoolRow, TownRow

__all__ = ["FONT_PATHS", "ReportFontMissing", "write_pdf"]

FONT: Final = "BKHubCJK"
FONT_PATHS: Final = (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),)
SERIES_COLOURS: Final = (
    colors.HexColor("#c0392b"),
    colors.HexColor("#2e86c1"),
    colors.HexColor("#27ae60"),
    colors.HexColor("#8e44ad"),
    colors.HexColor("#d68910"),
)


class ReportFontMissing(RuntimeError):
    pass


def _register_font() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    for path in FONT_PATHS:
        if path.is_file():
            pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
            return
    raise ReportFontMissing(
        "no Chinese font for the PDF: install Debian's fonts-wqy-microhei "
        f"(make system-deps); looked for {', '.join(map(str, FONT_PATHS))}"
    )


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=15, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", base, fontSize=18, leading=26, alignment=1),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=10, alignment=1),
        "h2": ParagraphStyle("h2", base, fontSize=13, leading=20, spaceBefore=8, spaceAfter=4),
        "body": base,
        "cell": ParagraphStyle("cell", base, fontSize=7.5, leading=9.5),
    }


def write_pdf(report: MonthlyReport, path: Path | BinaryIO) -> None:
    _register_font()
    styles = _styles()
    doc = SimpleDocTemplate(
        str(path) if isinstance(path, Path) else path,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=report.title,
        author=report.district,
    )
    story: list[Flowable] = [
        Paragraph(report.title, styles["title"]),
        Paragraph(
            f"统计时段：{report.period}　生成时间：{report.generated_at:%Y-%m-%d %H:%M}",
            styles["subtitle"],
        ),
        Spacer(1, 4 * mm),
        Paragraph("一、总体情况", styles["h2"]),
        Paragraph(_summary(report), styles["body"]),
        Spacer(1, 3 * mm),
        _charts(report),
        PageBreak(),
        Paragraph("二、各镇（办）汇总", styles["h2"]),
    ]
    towns = town_columns(report)
    story += _tables(towns, report.towns, styles)
    story += [Paragraph("三、各学校明细", styles["h2"])]
    story += _tables(school_columns(report), report.schools, styles)
    story += [
        Spacer(1, 4 * mm),
        Paragraph(
            "说明：违规事件为 AI 识别并记录的事件，以开始时间计入当月；重复违规指同一学校当月"
            "再次出现的同类违规；确认用时为事件开始至负责人确认的时间；摄像头在线率为监控期间"
            "各摄像头在线时间占比的平均值；巡查、陪餐完成数按各项制度要求分别计算，超出要求的"
            "次数不抵其他项目。",
            styles["body"],
        ),
        Spacer(1, 8 * mm),
        Paragraph(
            "填报单位（盖章）：____________　　审核人：____________　　日期：____________",
            styles["body"],
        ),
    ]
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)


def _summary(report: MonthlyReport) -> str:
    t = report.total
    by_type = "，".join(
        f"{report.type_labels[k]} {t.violations[k]} 起" for k in report.types if t.violations[k]
    )
    return (
        f"本月共覆盖学校 {len(report.schools)} 所。AI 识别违规事件 {t.total} 起"
        f"{'（' + by_type + '）' if by_type else ''}，其中重复违规 {t.repeats} 起；"
        f"已确认 {t.acknowledged} 起，确认率 {format_cell(t.ack_rate, Format.PERCENT)}，"
        f"确认用时中位数 {format_cell(t.ack_median_min, Format.MINUTES)} 分钟。"
        f"摄像头平均在线率 {format_cell(report.uptime, Format.PERCENT)}。"
        f"巡查完成 {t.inspections_done}/{t.inspections_required} 次"
        f"（{format_cell(t.inspection_rate, Format.PERCENT)}），"
        f"陪餐完成 {t.meals_done}/{t.meals_required} 次"
        f"（{format_cell(t.meal_rate, Format.PERCENT)}），巡查发现不合格项 {t.failed_items} 项。"
    )


def _tables(
    columns: Sequence[Column],
    rows: Sequence[SchoolRow] | Sequence[TownRow],
    styles: dict[str, ParagraphStyle],
) -> list[Flowable]:
    """Two tables, violations then duties, each with the name columns first."""
    names = [c for c in columns if c.part is Part.NAME]
    out: list[Flowable] = []
    for part in (Part.VIOLATIONS, Part.DUTIES):
        chosen = names + [c for c in columns if c.part is part]
        header = [Paragraph(c.header, styles["cell"]) for c in chosen]
        body = [
            [Paragraph(format_cell(c.value(r), c.format), styles["cell"]) for c in chosen]
            for r in rows
        ]
        table = Table([header, *body], repeatRows=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        out += [table, Spacer(1, 4 * mm)]
    return out


def _charts(report: MonthlyReport) -> KeepTogether:
    return KeepTogether([_violations_chart(report), Spacer(1, 2 * mm), _rates_chart(report)])


def _bar_chart(
    title: str, categories: list[str], series: list[tuple[str, list[float]]], value_max: float
) -> Drawing:
    width, height = 250 * mm, 62 * mm
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 10, title, fontName=FONT, fontSize=10))
    chart = VerticalBarChart()
    chart.x, chart.y = 30, 22
    chart.width, chart.height = int(width - 180), int(height - 45)  # the stubs want ints
    chart.data = [values for _, values in series] or [[0]]
    chart.categoryAxis.categoryNames = categories or ["—"]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = value_max
    for i in range(len(series)):
        chart.bars[i].fillColor = SERIES_COLOURS[i % len(SERIES_COLOURS)]
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = int(width - 140), int(height - 20)
    legend.fontName, legend.fontSize = FONT, 8
    legend.colorNamePairs = [
        (SERIES_COLOURS[i % len(SERIES_COLOURS)], name) for i, (name, _) in enumerate(series)
    ]
    drawing.add(legend)
    return drawing


def _violations_chart(report: MonthlyReport) -> Drawing:
    towns = report.towns
    series = [
        (report.type_labels[t], [float(town.figures.violations[t]) for town in towns])
        for t in report.types
    ]
    peak = max([v for _, values in series for v in values] + [1.0])
    return _bar_chart(
        "图1　各镇（办）违规事件数（按类型）", [t.name for t in towns], series, peak * 1.15
    )


def _rates_chart(report: MonthlyReport) -> Drawing:
    towns = report.towns

    def pct(value: float | None) -> float:
        return 100 * value if value is not None else 0.0

    series = [
        ("摄像头在线率", [pct(t.uptime) for t in towns]),
        ("巡查完成率", [pct(t.figures.inspection_rate) for t in towns]),
        ("陪餐完成率", [pct(t.figures.meal_rate) for t in towns]),
    ]
    return _bar_chart(
        "图2　各镇（办）在线率与履职完成率（%）", [t.name for t in towns], series, 100
    )


def _footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 8)
    canvas.drawRightString(doc.pagesize[0] - 12 * mm, 7 * mm, f"第 {doc.page} 页")
    canvas.drawString(12 * mm, 7 * mm, doc.title or "")
    canvas.restoreState()
