"""The monthly assessment report over HTTP: JSON for the console, PDF and XLSX to file.

Scoped like everything else: district staff get the district or any town, a town its own
schools, a school itself. The files are the same as `bkhub report monthly` writes.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from hub.report import (
    MONTH_PATTERN,
    MonthlyReport,
    ReportFontMissing,
    SchoolRow,
    TownRow,
    monthly_report,
    parse_month,
    write_pdf,
    write_xlsx,
)
from hub.report.monthly import Figures
from web.auth import CurrentUser, ScopeKind, visible_school_ids
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/api/reports", tags=["reports"], responses=ERROR_RESPONSES)

_MEDIA = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ReportFormat(StrEnum):
    JSON = "json"
    PDF = "pdf"
    XLSX = "xlsx"


class FiguresView(BaseModel):
    violations: dict[str, int] = Field(description="violation type -> events started in the month")
    total: int
    repeats: int = Field(description="violations of a type the school already had that month")
    acknowledged: int
    ack_rate: float | None
    ack_median_min: float | None
    inspections_done: int
    inspections_required: int
    meals_done: int
    meals_required: int
    failed_items: int = Field(description="不合格 checklist items in the month's rounds")


class SchoolReportRow(BaseModel):
    id: str
    name: str
    town_id: str | None
    town_name: str
    grade: str | None
    uptime: float | None
    figures: FiguresView


class TownReportRow(BaseModel):
    id: str = Field(description="town id; empty for the bureau-direct schools (局直学校)")
    name: str
    schools: int
    uptime: float | None
    figures: FiguresView


class MonthlyReportView(BaseModel):
    title: str
    month: str
    start: datetime
    end: datetime
    generated_at: datetime
    type_labels: dict[str, str]
    uptime: float | None
    total: FiguresView
    towns: list[TownReportRow]
    schools: list[SchoolReportRow]


def _figures(f: Figures) -> FiguresView:
    return FiguresView(
        violations=dict(f.violations),
        total=f.total,
        repeats=f.repeats,
        acknowledged=f.acknowledged,
        ack_rate=f.ack_rate,
        ack_median_min=f.ack_median_min,
        inspections_done=f.inspections_done,
        inspections_required=f.inspections_required,
        meals_done=f.meals_done,
        meals_required=f.meals_required,
        failed_items=f.failed_items,
    )


def _school(row: SchoolRow) -> SchoolReportRow:
    s = row.school
    return SchoolReportRow(
        id=s.id,
        name=s.name,
        town_id=s.town,
        town_name=row.town_name,
        grade=str(s.grade) if s.grade else None,
        uptime=row.uptime,
        figures=_figures(row.figures),
    )


def _town(row: TownRow) -> TownReportRow:
    return TownReportRow(
        id=row.town_id, name=row.name, schools=row.schools, uptime=row.uptime,
        figures=_figures(row.figures),
    )  # fmt: skip


def _view(report: MonthlyReport) -> MonthlyReportView:
    return MonthlyReportView(
        title=report.title,
        month=f"{report.year}-{report.month:02d}",
        start=report.window.start,
        end=report.window.end,
        generated_at=report.generated_at,
        type_labels=report.type_labels,
        uptime=report.uptime,
        total=_figures(report.total),
        towns=[_town(t) for t in report.towns],
        schools=[_school(s) for s in report.schools],
    )


def _render(report: MonthlyReport, fmt: ReportFormat) -> bytes:
    buffer = io.BytesIO()
    (write_pdf if fmt is ReportFormat.PDF else write_xlsx)(report, buffer)
    return buffer.getvalue()


@router.get(
    "/monthly",
    response_model=MonthlyReportView,
    responses={200: {"content": {media: {} for media in _MEDIA.values()}}},
)
async def monthly(
    hub: HubDep,
    user: CurrentUser,
    month: Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM, local")],
    town: Annotated[str | None, Query(description="one town's id; district staff only")] = None,
    format: ReportFormat = ReportFormat.JSON,
) -> MonthlyReportView | Response:
    """月度考核报表 of the schools in your scope (or one town of them) for one month."""
    config = hub.config
    if town is not None:
        if town not in {t.id for t in config.towns}:
            raise ApiError(404, "not_found", f"no town {town!r}", zh="未找到该镇（办）")
        if user.scope.kind is ScopeKind.SCHOOL or (
            user.scope.kind is ScopeKind.TOWN and user.scope.id != town
        ):
            raise ApiError(403, "forbidden", "that town is outside your scope", zh="没有权限")
    year, number = parse_month(month)  # the Query pattern checked it
    if user.scope.kind is ScopeKind.TOWN:
        town = user.scope.id  # a town's report is of its own schools, not the direct ones
    async with hub.db.session() as session:
        report = await monthly_report(
            session, config, year, number, town=town,
            school_ids=visible_school_ids(user, config), now=datetime.now(UTC),
        )  # fmt: skip
    if format is ReportFormat.JSON:
        return _view(report)
    try:
        body = await asyncio.to_thread(_render, report, format)
    except ReportFontMissing as exc:
        raise ApiError(503, "unavailable", str(exc), zh="服务器缺少中文字体，无法生成 PDF") from exc
    name = f"{config.district.id}-{town or 'all'}-{month}-monthly.{format.value}"
    zh_name = f"{report.title}.{format.value}"
    disposition = f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(zh_name)}"
    headers = {"Content-Disposition": disposition}
    return Response(body, media_type=_MEDIA[format.value], headers=headers)
