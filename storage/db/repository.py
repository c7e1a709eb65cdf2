"""Queries and writes on the metadata database, one function per question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db.database import serialize_startup
from storage.db.models import (
    Camera,
    CameraStateChange,
    CameraStatus,
    Export,
    School,
    Segment,
    SegmentStatus,
    Town,
)


async def sync_registry(
    session: AsyncSession,
    towns: Sequence[Town],
    schools: Sequence[School],
    cameras: Sequence[Camera],
) -> None:
    """Make the registry tables match the config; cameras no longer configured are disabled,
    not deleted, so their recordings and history stay reachable."""
    await serialize_startup(session)  # two nodes merging one new row would collide
    for row in (*towns, *schools, *cameras):
        await session.merge(row)
    configured = [c.id for c in cameras]
    await session.execute(update(Camera).where(Camera.id.not_in(configured)).values(enabled=False))


@dataclass(frozen=True, slots=True)
class StatsRow:
    last_packet_at: datetime | None
    fps: float | None
    bitrate_kbps: float | None
    keyframe_interval_s: float | None


async def record_state_change(
    session: AsyncSession,
    camera_id: str,
    *,
    state: str,
    reason: str | None,
    detail: str | None,
    at: datetime,
) -> None:
    """Close the camera's open history period and open a new one; update its current status.
    A change older than the current status is dropped: in a cluster, the node that handed the
    camera over may write its "stopped" after the new owner wrote "connecting"."""
    status = await session.get(CameraStatus, camera_id)
    if status is not None and at < status.since:
        return
    await session.execute(
        update(CameraStateChange)
        .where(CameraStateChange.camera_id == camera_id, CameraStateChange.ended_at.is_(None))
        .values(ended_at=at)
    )
    session.add(
        CameraStateChange(
            camera_id=camera_id, state=state, reason=reason, detail=detail, started_at=at
        )
    )
    if status is None:
        status = CameraStatus(camera_id=camera_id, since=at, updated_at=at, state=state)
        session.add(status)
    status.state, status.reason, status.detail = state, reason, detail
    status.since = status.updated_at = at


async def record_stats(
    session: AsyncSession, camera_id: str, stats: StatsRow, *, at: datetime
) -> None:
    status = await session.get(CameraStatus, camera_id)
    if status is None:  # stats only follow a recorded state
        return
    status.last_packet_at = stats.last_packet_at
    status.fps = stats.fps
    status.bitrate_kbps = stats.bitrate_kbps
    status.keyframe_interval_s = stats.keyframe_interval_s
    status.updated_at = at


async def state_history(session: AsyncSession, camera_id: str) -> list[CameraStateChange]:
    result = await session.scalars(
        select(CameraStateChange)
        .where(CameraStateChange.camera_id == camera_id)
        .order_by(CameraStateChange.started_at, CameraStateChange.id)
    )
    return list(result)


async def add_segment(session: AsyncSession, segment: Segment) -> Segment:
    """Index a finished segment; indexing the same object key twice returns the first row.
    A spooled segment indexed again names the spool it is in now (a node that starts
    re-indexes its own spool, rows from before it joined a cluster included)."""
    existing = await session.scalar(select(Segment).where(Segment.object_key == segment.object_key))
    if existing is not None:
        if existing.status == SegmentStatus.SPOOLED:
            existing.spool_node = segment.spool_node
        return existing
    session.add(segment)
    await session.flush()
    return segment


async def pending_segments(
    session: AsyncSession, limit: int = 100, *, node: str | None = None
) -> list[Segment]:
    """Segments waiting in this node's spool (`node`: its cluster name; None: a one-node hub)."""
    here = Segment.spool_node.is_(None) if node is None else Segment.spool_node == node
    result = await session.scalars(
        select(Segment)
        .where(Segment.status == SegmentStatus.SPOOLED, here)
        .order_by(Segment.start_at)
        .limit(limit)
    )
    return list(result)


async def mark_segment_stored(session: AsyncSession, segment_id: int, *, at: datetime) -> None:
    await session.execute(
        update(Segment)
        .where(Segment.id == segment_id)
        .values(status=SegmentStatus.STORED, stored_at=at)
    )


async def mark_segment_dropped(session: AsyncSession, object_key: str) -> None:
    await session.execute(
        update(Segment)
        .where(Segment.object_key == object_key, Segment.status == SegmentStatus.SPOOLED)
        .values(status=SegmentStatus.DROPPED)
    )


async def segments_between(
    session: AsyncSession, camera_id: str, start: datetime, end: datetime
) -> list[Segment]:
    """Segments of one camera that overlap [start, end), oldest first."""
    result = await session.scalars(
        select(Segment)
        .where(Segment.camera_id == camera_id, Segment.end_at > start, Segment.start_at < end)
        .order_by(Segment.start_at)
    )
    return list(result)


async def camera_statuses(session: AsyncSession) -> dict[str, CameraStatus]:
    result = await session.scalars(select(CameraStatus))
    return {row.camera_id: row for row in result}


# --- footage exports and storage verification -------------------------------------------


async def camera_school(session: AsyncSession, camera_id: str) -> str | None:
    """The school a camera belongs to, or None for an unknown camera."""
    return await session.scalar(select(Camera.school_id).where(Camera.id == camera_id))


async def exports_for_range(
    session: AsyncSession, camera_id: str, start: datetime, end: datetime, *, now: datetime
) -> list[Export]:
    """Unexpired exports of exactly this camera and requested range, newest first."""
    result = await session.scalars(
        select(Export)
        .where(
            Export.camera_id == camera_id,
            Export.start_at == start,
            Export.end_at == end,
            Export.expires_at > now,
        )
        .order_by(Export.created_at.desc())
    )
    return list(result)


async def expired_exports(session: AsyncSession, now: datetime, limit: int = 500) -> list[Export]:
    result = await session.scalars(
        select(Export).where(Export.expires_at <= now).order_by(Export.expires_at).limit(limit)
    )
    return list(result)


async def delete_export(session: AsyncSession, export_id: str) -> None:
    await session.execute(delete(Export).where(Export.id == export_id))


async def segments_with_objects(
    session: AsyncSession, *, after_id: int, limit: int
) -> list[Segment]:
    """Stored and spooled segments (the ones with bytes somewhere), by id after `after_id`."""
    result = await session.scalars(
        select(Segment)
        .where(
            Segment.id > after_id,
            Segment.status.in_([SegmentStatus.STORED, SegmentStatus.SPOOLED]),
        )
        .order_by(Segment.id)
        .limit(limit)
    )
    return list(result)


async def exports_after(session: AsyncSession, *, after_id: str, limit: int) -> list[Export]:
    result = await session.scalars(
        select(Export).where(Export.id > after_id).order_by(Export.id).limit(limit)
    )
    return list(result)


async def known_object_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of `keys` a segment or an export row names."""
    segments = await session.scalars(select(Segment.object_key).where(Segment.object_key.in_(keys)))
    exports = await session.scalars(select(Export.object_key).where(Export.object_key.in_(keys)))
    return {*segments, *exports}
