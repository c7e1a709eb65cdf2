"""Spool -> database -> object store, through outages and restarts (local store)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.archive import SegmentArchive, segment_row
from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import Camera, School, Segment, SegmentStatus
from storage.mp4 import FragmentedWriter, sha256_of
from storage.objectstore import LocalObjectStore
from storage.spool import SegmentMeta, Spool
from tests.media import read_packets
from tests.waiting import eventually

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _registry(db: Database) -> None:
    async with db.session() as s:
        await repo.sync_registry(
            s,
            [],
            [School(id="s1", name="局直小学", town_id=None, kind="primary", boarding=False)],
            [Camera(id="c1", school_id="s1", kitchen_id="k", name="热菜间", room="hot_kitchen")],
        )


def _spooled_segment(
    spool: Spool, clip: Path, offset_s: float, *, camera_id: str = "c1", school_id: str = "s1"
) -> SegmentMeta:
    info, packets = read_packets(clip, start_wall=1_764_000_000.0 + offset_s)
    packets = list(packets)
    start = datetime.fromtimestamp(packets[0].wall_time, UTC)
    part = spool.new_part(camera_id, school_id, start)
    writer = FragmentedWriter(part, info, packets[0])
    for p in packets:
        writer.write(p)
    writer.close()
    return spool.finish_part(part)


async def _wait_stored(db: Database, count: int) -> list[Segment]:
    rows: list[Segment] = []

    async def all_stored() -> bool:
        nonlocal rows
        async with db.session() as s:
            rows = list(await s.scalars(select(Segment).order_by(Segment.start_at)))
        return len(rows) == count and all(r.status == SegmentStatus.STORED for r in rows)

    await eventually(all_stored, within=60, what=f"{count} stored segments")
    return rows


async def test_segments_reach_the_store_once_with_checksums(
    no_lingering_tasks: None, db: Database, tmp_path: Path, clip_10s: Path
) -> None:
    await _registry(db)
    spool = Spool(tmp_path / "spool", tz=SHANGHAI)
    store = LocalObjectStore(tmp_path / "objects")
    archive = SegmentArchive(db, spool, store)
    await archive.start()
    try:
        for n in range(3):
            archive.segment_finished(_spooled_segment(spool, clip_10s, n * 10))
        rows = await _wait_stored(db, 3)
        # A spooled file goes once its row says stored: just after that commit, not with it.
        await eventually(lambda: spool.ready_segments() == [], within=30, what="spool emptied")
    finally:
        await archive.stop()
    keys = [k async for k in store.list_keys("recordings/")]
    assert sorted(keys) == sorted(r.object_key for r in rows)
    for row in rows:
        assert sha256_of(store.root / row.object_key) == row.sha256


async def test_store_outage_keeps_segments_spooled_until_it_returns(
    no_lingering_tasks: None, db: Database, tmp_path: Path, clip_10s: Path
) -> None:
    await _registry(db)
    spool = Spool(tmp_path / "spool", tz=SHANGHAI)
    blocked = tmp_path / "objects"
    blocked.write_text("not a directory: every upload fails")
    store = LocalObjectStore(blocked / "inner")
    archive = SegmentArchive(db, spool, store)
    await archive.start()
    try:
        for n in range(2):
            archive.segment_finished(_spooled_segment(spool, clip_10s, n * 10))
        await eventually(
            lambda: archive.failing_since is not None, within=30, what="the outage noticed"
        )

        async def both_pending() -> bool:
            # The first failed upload may be noticed before the second segment is indexed.
            async with db.session() as s:
                return len(await repo.pending_segments(s)) == 2

        await eventually(both_pending, within=30, what="both segments indexed as pending")
        assert len(spool.ready_segments()) == 2
        blocked.unlink()  # the store comes back
        rows = await _wait_stored(db, 2)
        # Cleared once the pass that uploaded them ends, which can be after their rows commit.
        await eventually(
            lambda: archive.failing_since is None, within=30, what="the outage's end noticed"
        )
    finally:
        await archive.stop()
    assert all((store.root / r.object_key).exists() for r in rows)


async def test_restart_indexes_and_uploads_what_a_crash_left(
    no_lingering_tasks: None, db: Database, tmp_path: Path, clip_10s: Path
) -> None:
    await _registry(db)
    spool = Spool(tmp_path / "spool", tz=SHANGHAI)
    store = LocalObjectStore(tmp_path / "objects")
    # Crash 1: a finished segment was never indexed.
    unindexed = _spooled_segment(spool, clip_10s, 0)
    # Crash 2: uploaded, but the row was not marked and the spool copy was removed.
    uploaded = _spooled_segment(spool, clip_10s, 10)
    await store.start()
    await store.put_file(
        uploaded.object_key, spool.ready_path(uploaded.object_key), content_type="video/mp4"
    )
    async with db.session() as s:
        await repo.add_segment(s, segment_row(uploaded, now=datetime.now(UTC)))
    spool.remove_ready(uploaded.object_key)

    archive = SegmentArchive(db, spool, store)
    await archive.start()
    try:
        rows = await _wait_stored(db, 2)
    finally:
        await archive.stop()
    assert {r.object_key for r in rows} == {unindexed.object_key, uploaded.object_key}
    assert archive.uploaded == 1  # the already-stored one was not sent twice
