"""The monthly report: a seeded November gives a PDF and an XLSX with the database's numbers.

The seed crosses the month's edges in the district's time zone (Asia/Shanghai): an event at
00:10 on 1 November local is 16:10 UTC on 31 October and counts; one at 23:30 on 31 October
local does not.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.cli import main as bkhub
from hub.config import HubConfig, load_config
from hub.report import monthly_report, write_pdf, write_xlsx
from hub.runtime import registry_rows
from storage.db.database import Database
from storage.db.models import Event
from storage.db.models_health import MONITORING, HealthPeriod
from storage.db.models_supervision import (
    AccompanyMeal,
    InspectionItem,
    InspectionRound,
)
from storage.db.repository import sync_registry

TZ = ZoneInfo("Asia/Shanghai")
CONFIG = """\
district: {id: test, name: 测试区教育局, timezone: Asia/Shanghai}
towns: [{id: town-e, name: 东城镇}, {id: town-w, name: 西城镇}]
schools:
  - {id: e1, name: 东城小学, town: town-e, kind: primary, grade: A,
     kitchens: [{id: main, name: 食堂}],
     cameras: [{id: e1-a, name: 热菜间, rtsp_url: 'rtsp://127.0.0.1:9/a'},
               {id: e1-b, name: 凉菜间, rtsp_url: 'rtsp://127.0.0.1:9/b'}]}
  - {id: e2, name: 东城幼儿园, town: town-e, kind: kindergarten, grade: B,
     kitchens: [{id: main, name: 食堂}],
     cameras: [{id: e2-a, name: 热菜间, rtsp_url: 'rtsp://127.0.0.1:9/c'}]}
  - {id: w1, name: 西城中学, town: town-w, kind: middle, boarding: true,
     kitchens: [{id: main, name: 食堂}],
     cameras: [{id: w1-a, name: 热菜间, rtsp_url: 'rtsp://127.0.0.1:9/d'}]}
  - {id: d1, name: 区实验高中, kind: high, grade: A,
     kitchens: [{id: main, name: 食堂}],
     cameras: [{id: d1-a, name: 热菜间, rtsp_url: 'rtsp://127.0.0.1:9/e'}]}
recording: {spool_dir: spool}
storage: {object_store: {type: local, root: objects}}
database: {url: "DB_URL"}
supervision:
  items: [环境卫生, 留样, 消毒]
  duties:
    - {id: town-inspection, name: 中心学校校长巡查, duty: inspection, roles: [town_staff],
       times: 2, per: month, applies_to: [{direct: false}]}
    - {id: manager-inspection, name: 食堂负责人每日巡查, duty: inspection,
       roles: [canteen_manager], times: 1, per: day}
    - {id: principal-meal, name: 校长陪餐, duty: accompany_meal, roles: [school_principal],
       times: 1, per: week}
"""
# November: 30 days. Inspections required: 2 (town schools) + 30 daily; meals: round(30/7).
INSPECTIONS_REQUIRED = {"e1": 32, "e2": 32, "w1": 32, "d1": 30}
MEALS_REQUIRED = 4


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def _config(tmp_path: Path, db_url: str) -> HubConfig:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace("DB_URL", db_url), encoding="utf-8")
    return load_config(path)


def _event(school: str, town: str | None, camera: str, kind: str, etype: str, at: datetime,
           ack_after_min: float | None = None) -> Event:  # fmt: skip
    return Event(
        id=secrets.token_hex(16),
        kind=kind,
        type=etype,
        severity="warning",
        camera_id=camera,
        school_id=school,
        town_id=town,
        started_at=at,
        ended_at=at + timedelta(minutes=2),
        updated_at=at,
        acknowledged_at=None if ack_after_min is None else at + timedelta(minutes=ack_after_min),
        acknowledged_by=None if ack_after_min is None else "principal-e1",
    )


def _round(school: str, town: str | None, who: str, role: str, at: datetime, *,
           finished: bool = True, items: dict[str, str] | None = None) -> list[object]:  # fmt: skip
    row = InspectionRound(
        id=secrets.token_hex(16),
        school_id=school,
        town_id=town,
        inspector=who,
        inspector_role=role,
        mode="remote",
        started_at=at,
        finished_at=at + timedelta(minutes=20) if finished else None,
    )
    return [row] + [
        InspectionItem(round_id=row.id, item=item, result=result, recorded_at=at)
        for item, result in (items or {}).items()
    ]


def _meal(school: str, town: str | None, who: str, day: str) -> AccompanyMeal:
    return AccompanyMeal(
        id=secrets.token_hex(16),
        school_id=school,
        town_id=town,
        meal_date=datetime.fromisoformat(day).date(),
        meal="lunch",
        person=who,
        person_role="school_principal",
        quality=4,
        satisfaction=5,
        recorded_at=local(f"{day}T13:00"),
    )


async def seed_november(session: AsyncSession, config: HubConfig) -> None:
    await sync_registry(session, *registry_rows(config))
    await session.flush()  # no ORM relationships order the inserts: flush parents first
    v, h = "violation", "health"
    session.add_all(
        [
            # e1: three bare heads (two acknowledged after 5 and 15 min), a rat, a mask at
            # the very end of the month; a health event and an October event do not count.
            _event("e1", "town-e", "e1-a", v, "no_chef_hat", local("2026-11-01T00:10"), 5),
            _event("e1", "town-e", "e1-a", v, "no_chef_hat", local("2026-11-12T10:00"), 15),
            _event("e1", "town-e", "e1-b", v, "no_chef_hat", local("2026-11-20T10:00")),
            _event("e1", "town-e", "e1-b", v, "rat", local("2026-11-21T02:00"), 60),
            _event("e1", "town-e", "e1-a", v, "no_mask", local("2026-11-30T23:50")),
            _event("e1", "town-e", "e1-a", h, "camera_offline", local("2026-11-05T08:00")),
            _event("e1", "town-e", "e1-a", v, "no_mask", local("2026-10-31T23:30"), 1),
            # w1: two cockroaches, one acknowledged after 30 min
            _event("w1", "town-w", "w1-a", v, "cockroach", local("2026-11-03T05:00"), 30),
            _event("w1", "town-w", "w1-a", v, "cockroach", local("2026-11-04T05:00")),
            # d1: one glove violation in December: not November's
            _event("d1", None, "d1-a", v, "no_gloves", local("2026-12-01T00:00")),
        ]
    )
    # The hub watched all month; e1-a was offline for exactly three days of it.
    session.add_all(
        [
            HealthPeriod(
                camera_id=None,
                check=MONITORING,
                reason="running",
                started_at=local("2026-10-25T00:00"),
                ended_at=local("2026-12-03T00:00"),
            ),
            HealthPeriod(
                camera_id="e1-a",
                check="offline",
                reason="no_packets",
                started_at=local("2026-11-10T00:00"),
                ended_at=local("2026-11-13T00:00"),
            ),
        ]
    )
    # e1: three town rounds (two count), ten daily rounds, one unfinished, one in October;
    # one town round found two items failing.
    rows: list[object] = []
    failing = {"环境卫生": "fail", "留样": "fail", "消毒": "pass"}
    rows += _round("e1", "town-e", "town-e-head", "town_staff", local("2026-11-02T09:00"),
                   items=failing)  # fmt: skip
    rows += _round("e1", "town-e", "town-e-head", "town_staff", local("2026-11-16T09:00"))
    rows += _round("e1", "town-e", "town-e-head", "town_staff", local("2026-11-28T09:00"))
    for day in range(1, 11):
        rows += _round(
            "e1", "town-e", "mgr-e1", "canteen_manager", local(f"2026-11-{day:02d}T07:00")
        )
    rows += _round("e1", "town-e", "mgr-e1", "canteen_manager", local("2026-11-11T07:00"),
                   finished=False)  # fmt: skip
    rows += _round("e1", "town-e", "mgr-e1", "canteen_manager", local("2026-10-31T07:00"))
    # d1: all thirty daily rounds
    for day in range(1, 31):
        rows += _round("d1", None, "mgr-d1", "canteen_manager", local(f"2026-11-{day:02d}T07:00"))
    session.add_all([r for r in rows if isinstance(r, InspectionRound)])
    await session.flush()
    session.add_all([r for r in rows if not isinstance(r, InspectionRound)])
    # Meals: e1 twice, d1 five times (four count), w1 once on 1 December (does not count).
    meals = [_meal("e1", "town-e", "principal-e1", d) for d in ("2026-11-03", "2026-11-10")]
    meals += [_meal("d1", None, "principal-d1", f"2026-11-{d:02d}") for d in (2, 9, 16, 23, 30)]
    meals += [_meal("w1", "town-w", "principal-w1", "2026-12-01")]
    session.add_all(meals)


# school -> (type counts, repeats, acknowledged, median ack min, uptime, insp done, meals done,
# failed items)
EXPECTED = {
    "e1": ({"no_chef_hat": 3, "no_mask": 1, "rat": 1}, 2, 3, 15.0, (0.9 + 1.0) / 2, 12, 2, 2),
    "e2": ({}, 0, 0, None, 1.0, 0, 0, 0),
    "w1": ({"cockroach": 2}, 1, 1, 30.0, 1.0, 0, 0, 0),
    "d1": ({}, 0, 0, None, 1.0, 30, 4, 0),
}
TYPES = ("no_chef_hat", "no_mask", "no_gloves", "rat", "cockroach")


async def _sql_violations(db: Database, school: str, etype: str) -> int:
    """The database's own count, by UTC bounds of November in Shanghai."""
    start, end = local("2026-11-01T00:00"), local("2026-12-01T00:00")
    async with db.session() as s:
        return int(
            await s.scalar(
                select(func.count()).where(
                    Event.school_id == school,
                    Event.type == etype,
                    Event.kind == "violation",
                    Event.started_at >= start,
                    Event.started_at < end,
                )
            )
            or 0
        )


async def test_the_report_figures_equal_the_database(db: Database, tmp_path: Path) -> None:
    config = _config(tmp_path, str(db.url))
    async with db.session() as session:
        await seed_november(session, config)
    async with db.session() as session:
        report = await monthly_report(session, config, 2026, 11, now=local("2026-12-05T09:00"))

    assert [r.school.id for r in report.schools] == ["e1", "e2", "w1", "d1"]
    for row in report.schools:
        types, repeats, acked, median, uptime, inspections, meals, failed = EXPECTED[row.school.id]
        f = row.figures
        assert dict(f.violations) == types, row.school.id
        for etype in TYPES:
            assert f.violations[etype] == await _sql_violations(db, row.school.id, etype)
        assert (f.repeats, f.acknowledged, f.ack_median_min) == (repeats, acked, median)
        assert row.uptime == pytest.approx(uptime)
        assert (f.inspections_done, f.inspections_required) == (
            inspections,
            INSPECTIONS_REQUIRED[row.school.id],
        )
        assert (f.meals_done, f.meals_required) == (meals, MEALS_REQUIRED)
        assert f.failed_items == failed
    towns = {t.town_id: t for t in report.towns}
    assert list(towns) == ["town-e", "town-w", ""]  # config order, bureau-direct last
    assert towns[""].name == "局直学校"
    assert towns["town-e"].figures.total == 5 and towns["town-e"].schools == 2
    assert towns["town-e"].uptime == pytest.approx((0.9 + 1.0 + 1.0) / 3)  # per camera
    assert report.total.total == 7 and report.total.acknowledged == 4

    # The same figures as cells of the workbook.
    xlsx = tmp_path / "report.xlsx"
    write_xlsx(report, xlsx)
    book = load_workbook(xlsx)
    assert book.sheetnames == ["概况", "镇汇总", "学校明细"]
    sheet = book["学校明细"]
    header = [c.value for c in sheet[1]]
    rows = {
        r[0]: dict(zip(header, r, strict=True))
        for r in sheet.iter_rows(min_row=2, values_only=True)
    }
    e1 = rows["东城小学"]
    assert (e1["未戴厨师帽"], e1["未戴口罩"], e1["发现老鼠"], e1["违规合计"]) == (3, 1, 1, 5)
    assert (e1["重复违规"], e1["已确认"], e1["确认用时中位数(分钟)"]) == (2, 3, 15.0)
    assert e1["摄像头在线率"] == pytest.approx(0.95)
    assert (e1["巡查完成"], e1["巡查应完成"], e1["陪餐完成"], e1["巡查不合格项"]) == (12, 32, 2, 2)
    assert (e1["所属"], e1["食堂等级"]) == ("东城镇", "A")
    assert rows["西城中学"]["食堂等级"] == "未定级"
    assert rows["区实验高中"]["确认率"] is None  # nothing to acknowledge: empty, not 0
    assert sheet["A2"].number_format == "General" and sheet.cell(2, 12).number_format == "0.0%"
    summary = {r[0]: r[1] for r in book["概况"].iter_rows(min_row=5, values_only=True) if r[0]}
    assert (summary["违规事件"], summary["已确认"], summary["学校数"]) == (7, 4, 4)
    assert len(book["概况"]._charts) == 2  # openpyxl keeps a sheet's charts there

    # And as text of the PDF.
    pdf = tmp_path / "report.pdf"
    write_pdf(report, pdf)
    command = ["pdftotext", "-layout", str(pdf), "-"]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, check=True)
    text = done.stdout.decode()
    assert "测试区教育局 明厨亮灶监管月报（2026年11月）" in text
    assert "AI 识别违规事件 7 起" in text and "重复违规 3 起" in text
    assert "巡查完成 42/126 次" in text  # 12 + 0 + 0 + 30 of 32 x 3 + 30
    assert "统计时段：2026-11-01 至 2026-11-30（北京时间）" in text  # a closed month: no 截至
    for name in ("东城小学", "东城幼儿园", "西城中学", "区实验高中", "局直学校", "图1", "图2"):
        assert name in text


# A report run on 16 November at noon: 15.5 of 30 days have passed. Required by then:
# town rounds floor(2 x 15.5 / 30) = 1, daily rounds floor(15.5) = 15, weekly meals
# floor(30 / 7 x 15.5 / 30) = 2. Done is capped at that: d1's thirty rounds count 15.
MID_MONTH = {  # school -> (inspections done, required, meals done, required)
    "e1": (1 + 10, 1 + 15, 2, 2),
    "e2": (0, 16, 0, 2),
    "w1": (0, 16, 0, 2),
    "d1": (15, 15, 2, 2),
}


async def test_a_month_in_progress_requires_only_what_is_due_by_now(
    db: Database, tmp_path: Path
) -> None:
    config = _config(tmp_path, str(db.url))
    async with db.session() as session:
        await seed_november(session, config)
    async with db.session() as session:
        report = await monthly_report(session, config, 2026, 11, now=local("2026-11-16T12:00"))
    for row in report.schools:
        f = row.figures
        got = (f.inspections_done, f.inspections_required, f.meals_done, f.meals_required)
        assert got == MID_MONTH[row.school.id], row.school.id
    assert report.schools[3].figures.inspection_rate == 1.0  # d1 is on pace, not "behind"
    assert report.period == "2026-11-01 至 2026-11-30，截至 2026-11-16 12:00（北京时间）"
    xlsx = tmp_path / "report.xlsx"
    write_xlsx(report, xlsx)
    summary = {r[0]: r[1] for r in load_workbook(xlsx)["概况"].iter_rows(values_only=True)}
    assert summary["统计时段"] == report.period


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils: make system-deps")
def test_the_cli_writes_one_towns_pdf_and_xlsx(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    config = _config(tmp_path, url)

    async def seed() -> None:
        db = Database(url)
        await db.start()
        try:
            async with db.session() as session:
                await seed_november(session, config)
        finally:
            await db.stop()

    asyncio.run(seed())
    out = tmp_path / "reports"
    code = bkhub(["-c", str(tmp_path / "config.yaml"), "report", "monthly",
                  "--month", "2026-11", "--town", "town-e", "--out", str(out)])  # fmt: skip
    assert code == 0
    pdf, xlsx = out / "test-town-e-2026-11-monthly.pdf", out / "test-town-e-2026-11-monthly.xlsx"
    schools = [r[0] for r in load_workbook(xlsx)["学校明细"].iter_rows(min_row=2, values_only=True)]
    assert schools == ["东城小学", "东城幼儿园"]  # that town's schools only

    # Every page renders, and the first one has its title and charts drawn (not blank).
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    first = cv2.imread(str(pages[0]), cv2.IMREAD_GRAYSCALE)
    assert first is not None and np.count_nonzero(first < 128) > 2000

    assert (
        bkhub(["-c", str(tmp_path / "config.yaml"), "report", "monthly", "--town", "nowhere"]) == 2
    )
