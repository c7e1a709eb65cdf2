"""Spool quota: oldest recordings go first, evidence never, and every drop is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.archive import SegmentArchive
from storage.db.database import Database
from storage.db.models import AuditEntry, Segment, SegmentStatus
from storage.objectstore import LocalObjectStore
from storage.quota import choose_drops
from storage.spool import SegmentMeta, Spool
from tests.test_archive import _registry, _spooled_segment
from tests.waiting import eventually

T0 = datetime(2026, 11, 29, tzinfo=UTC)


def _meta(key: str, minute: int, size: int = 100) -> SegmentMeta:
    start = T0 + timedelta(minutes=minute)
    return SegmentMeta(
        camera_id="c1",
        school_id="s1",
        object_key=key,
        start_at=start,
        end_at=start + timedelta(minutes=1),
        bytes=size,
        sha256="0" * 64,
        codec="h264",
        width=1,
        height=1,
        recovered=False,
    )


def test_nothing_dropped_under_quota() -> None:
    ready = [_meta(f"recordings/{n}.mp4", n) for n in range(5)]
    assert choose_drops(ready, usage_bytes=500, quota_bytes=500) == []


def test_oldest_recordings_dropped_to_low_water_clips_kept() -> None:
    ready = [
        _meta("clips/s1/c1/ev1.mp4", 0),
        _meta("recordings/b.mp4", 2),
        _meta("recordings/a.mp4", 1),
        _meta("snapshots/s1/c1/ev1.jpg", 3),
        _meta("recordings/c.mp4", 4),
    ]
    drops = choose_drops(ready, usage_bytes=500, quota_bytes=400)
    # 500 -> must reach 360: two 100-byte recordings, oldest first; evidence untouched.
    assert [m.object_key for m in drops] == ["recordings/a.mp4", "recordings/b.mp4"]


def test_only_evidence_means_nothing_to_drop() -> None:
    ready = [_meta("clips/x.mp4", 0, 1000)]
    assert choose_drops(ready, usage_bytes=1000, quota_bytes=10) == []


async def test_outage_past_the_quota_drops_and_audits(
    no_lingering_tasks: None, db: Database, tmp_path: Path, clip_10s: Path
) -> None:
    await _registry(db)
    spool = Spool(tmp_path / "spool", tz=ZoneInfo("Asia/Shanghai"))
    blocked = tmp_path / "objects"
    blocked.write_text("the store is down")
    one = _spooled_segment(spool, clip_10s, 0)
    archive = SegmentArchive(
        db, spool, LocalObjectStore(blocked / "x"), quota_bytes=int(one.bytes * 2.5)
    )
    await archive.start()
    try:
        for n in range(1, 5):
            archive.segment_finished(_spooled_segment(spool, clip_10s, n * 10))
        await eventually(lambda: archive.dropped >= 2, within=60, what="quota drops")
    finally:
        await archive.stop()
    async with db.session() as s:
        rows = list(await s.scalars(select(Segment).order_by(Segment.start_at)))
        audit = list(await s.scalars(select(AuditEntry)))
    statuses = [r.status for r in rows]
    assert statuses[: archive.dropped] == [SegmentStatus.DROPPED] * archive.dropped
    assert SegmentStatus.SPOOLED in statuses[archive.dropped :]  # the newest are kept
    assert {a.object_key for a in audit} == {r.object_key for r in rows[: archive.dropped]}
    assert all(a.action == "spool_drop" and a.actor == "system" for a in audit)
    assert spool.usage_bytes() <= one.bytes * 2.5
    assert archive.last_drop_at is not None
