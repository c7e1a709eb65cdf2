"""`verify_storage`: missing, corrupt and orphaned objects, in the store and the spool."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from storage.archive import segment_row
from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import Camera, School, SegmentStatus
from storage.export import FootageExporter
from storage.mp4 import FragmentedWriter
from storage.objectstore import LocalObjectStore
from storage.spool import SegmentMeta, Spool
from storage.verify import verify_storage
from tests.media import read_packets

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = 1_764_000_000.0


class _RemoteLikeStore(LocalObjectStore):
    """The same objects without a local path, so verify streams them with ranged reads."""

    async def open_local(self, key: str) -> Path | None:
        return None


def _segment(spool: Spool, clip: Path, offset_s: float) -> SegmentMeta:
    info, packets = read_packets(clip, start_wall=T0 + offset_s)
    first, *rest = list(packets)
    part = spool.new_part("c1", "s1", datetime.fromtimestamp(first.wall_time, UTC))
    writer = FragmentedWriter(part, info, first)
    for packet in (first, *rest):
        writer.write(packet)
    writer.close()
    return spool.finish_part(part)


async def _archive(db: Database, tmp_path: Path, clip: Path) -> tuple[LocalObjectStore, Spool]:
    """Three 10 s segments, the last still in the spool, and one export of them all."""
    spool = Spool(tmp_path / "spool", tz=SHANGHAI)
    store = LocalObjectStore(tmp_path / "objects")
    await store.start()
    async with db.session() as s:
        await repo.sync_registry(
            s,
            [],
            [School(id="s1", name="局直小学", town_id=None, kind="primary", boarding=False)],
            [Camera(id="c1", school_id="s1", kitchen_id="k", name="热菜间", room="hot_kitchen")],
        )
    for n in range(3):
        meta = _segment(spool, clip, n * 10)
        stored = n < 2
        if stored:
            path = spool.ready_path(meta.object_key)
            await store.put_file(meta.object_key, path, content_type="video/mp4")
            spool.remove_ready(meta.object_key)
        async with db.session() as s:
            status = SegmentStatus.STORED if stored else SegmentStatus.SPOOLED
            await repo.add_segment(s, segment_row(meta, now=meta.end_at, status=status))
    exporter = FootageExporter(
        db,
        store,
        work_dir=tmp_path / "work",
        spool=spool.ready_path,
        now=lambda: datetime.fromtimestamp(T0 + 3600, UTC),
    )
    start, end = (datetime.fromtimestamp(T0 + s, UTC) for s in (0, 30))
    await exporter.export("c1", start, end, actor="inspector-li")
    return store, spool


def _flip_a_byte(path: Path, offset: int = 1000) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


async def test_clean_archive_verifies_ok(db: Database, tmp_path: Path, clip_10s: Path) -> None:
    store, spool = await _archive(db, tmp_path, clip_10s)

    report = await verify_storage(db, store, spool=spool.ready_path)
    assert report.ok, str(report)
    assert report.checked == 4  # two stored segments, one spooled, one export
    assert str(report).startswith("storage verify: OK: 4 object(s) checked")
    assert (await verify_storage(db, store)).checked == 3  # spooled ones need the spool


async def test_missing_corrupt_and_orphaned_objects_are_reported(
    db: Database, tmp_path: Path, clip_10s: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storage.verify._CHUNK", 64 * 1024)  # several ranged reads per object
    store, spool = await _archive(db, tmp_path, clip_10s)
    keys = [k async for k in store.list_keys("recordings/")]
    [export_key] = [k async for k in store.list_keys("exports/")]
    [spooled_key] = [
        p.relative_to(spool.ready_dir).as_posix() for p in spool.ready_dir.rglob("*.mp4")
    ]
    (store.root / keys[0]).unlink()
    _flip_a_byte(store.root / keys[1])  # same size, other bytes
    with (store.root / export_key).open("ab") as f:
        f.write(b"\0")  # another size
    _flip_a_byte(spool.ready_path(spooled_key))
    stray = "recordings/s1/c1/2025-11-25/00/stray.mp4"
    (store.root / stray).write_bytes(b"not indexed")
    await store.put_file("exports/s1/c1/leftover.mp4", store.root / stray, content_type="video/mp4")

    for checked_store in (store, _RemoteLikeStore(store.root)):
        report = await verify_storage(db, checked_store, spool=spool.ready_path)
        assert not report.ok
        assert report.checked == 4
        assert report.missing == (keys[0],)
        assert sorted(report.corrupt) == sorted([keys[1], spooled_key, export_key])
        assert report.orphaned == (stray, "exports/s1/c1/leftover.mp4")
    text = str(report)
    assert "PROBLEMS FOUND: 4 object(s) checked, 1 missing, 3 corrupt, 2 orphaned" in text
    assert f"  {keys[0]}" in text and f"  {stray}" in text
