"""`bkhub report monthly`: the monthly assessment report as PDF and XLSX files.

  bkhub report monthly --month 2026-11 [--town dongcheng] [--out reports/] [--format pdf xlsx]

Reads the database directly, so it runs with or without a hub serving the same config.
Without --month: the previous month in the district's time zone.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hub.config import HubConfig
from hub.report import (
    MonthlyReport,
    ReportFontMissing,
    monthly_report,
    parse_month,
    write_pdf,
    write_xlsx,
)
from storage.db.database import Database, DatabaseError

__all__ = ["add_parser", "report_paths", "run"]

_WRITERS = {"pdf": write_pdf, "xlsx": write_xlsx}


def _month(text: str) -> tuple[int, int]:
    try:
        return parse_month(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _previous_month(tz: ZoneInfo) -> tuple[int, int]:
    first = datetime.now(UTC).astimezone(tz).date().replace(day=1)
    last = first - timedelta(days=1)
    return last.year, last.month


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    report = sub.add_parser("report", help="reports: the monthly assessment (PDF, XLSX)")
    kinds = report.add_subparsers(dest="report_command", required=True)
    monthly = kinds.add_parser("monthly", help="月度考核报表 of the district or one town")
    monthly.add_argument("--month", type=_month, help="YYYY-MM (default: last month)")
    monthly.add_argument("--town", help="one town's id (default: the whole district)")
    monthly.add_argument("--out", type=Path, default=Path("."), help="directory for the files")
    monthly.add_argument("--format", nargs="+", choices=sorted(_WRITERS), default=sorted(_WRITERS))
    return report


def report_paths(config: HubConfig, year: int, month: int, town: str | None, out: Path,
                 formats: list[str]) -> dict[str, Path]:  # fmt: skip
    stem = f"{config.district.id}-{town or 'all'}-{year}-{month:02d}-monthly"
    return {fmt: out / f"{stem}.{fmt}" for fmt in formats}


def run(config: HubConfig, args: argparse.Namespace) -> int:
    tz = ZoneInfo(config.district.timezone)
    year, month = args.month or _previous_month(tz)
    if args.town is not None and args.town not in {t.id for t in config.towns}:
        known = ", ".join(t.id for t in config.towns)
        print(f"error: no town {args.town!r} in the config (towns: {known})", file=sys.stderr)
        return 2
    paths = report_paths(config, year, month, args.town, args.out, args.format)
    try:
        report = asyncio.run(_load(config, year, month, args.town))
        args.out.mkdir(parents=True, exist_ok=True)
        for fmt, path in paths.items():
            _WRITERS[fmt](report, path)
            print(f"wrote {path}")
    except (DatabaseError, ReportFontMissing, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


async def _load(config: HubConfig, year: int, month: int, town: str | None) -> MonthlyReport:
    db = Database(config.database.url)
    await db.start()
    try:
        async with db.session() as session:
            return await monthly_report(session, config, year, month, town=town)
    finally:
        await db.stop()
