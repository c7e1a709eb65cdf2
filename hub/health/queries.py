"""Health history for the API: problem periods and uptime of a set of cameras."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db.models_health import MONITORING, HealthPeriod

from .model import DOWN_CHECKS
from .uptime import Span, Uptime, uptime

__all__ = ["camera_uptimes", "history"]


async def history(
    session: AsyncSession, camera_id: str, start: datetime, end: datetime, *, limit: int = 1000
) -> list[HealthPeriod]:
    """The camera's problem periods overlapping [start, end), newest first."""
    rows = await session.scalars(
        select(HealthPeriod)
        .where(
            HealthPeriod.camera_id == camera_id,
            HealthPeriod.started_at < end,
            or_(HealthPeriod.ended_at.is_(None), HealthPeriod.ended_at > start),
        )
        .order_by(HealthPeriod.started_at.desc())
        .limit(limit)
    )
    return list(rows)


async def camera_uptimes(
    session: AsyncSession, camera_ids: Collection[str], period: Span, now: datetime
) -> dict[str, Uptime]:
    """Uptime of each camera within `period`; open periods run until `now`."""
    start, end = period
    overlapping = (HealthPeriod.started_at < end) & or_(
        HealthPeriod.ended_at.is_(None), HealthPeriod.ended_at > start
    )
    monitored = [
        (row.started_at, row.ended_at or now)
        for row in await session.scalars(
            select(HealthPeriod).where(HealthPeriod.check == MONITORING, overlapping)
        )
    ]
    down: dict[str, list[Span]] = {c: [] for c in camera_ids}
    rows = await session.scalars(
        select(HealthPeriod).where(
            HealthPeriod.camera_id.in_(list(camera_ids)),
            HealthPeriod.check.in_([str(c) for c in DOWN_CHECKS]),
            overlapping,
        )
    )
    for row in rows:
        if row.camera_id is not None:
            down[row.camera_id].append((row.started_at, row.ended_at or now))
    return {camera_id: uptime(spans, monitored, period) for camera_id, spans in down.items()}
