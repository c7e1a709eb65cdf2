"""Footage exports from real H.264 segments in the local store and the spool, both databases."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import httpx
import pytest
from sqlalchemy import func, select

from storage.archive import segment_row
from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import AuditEntry, Camera, Export, School, SegmentStatus
from storage.export import (
    ExportFailed,
    ExportGap,
    FootageExporter,
    GapReason,
    InvalidRange,
    NoFootage,
    UnknownCamera,
    check_range,
    find_gaps,
)
from storage.mp4 import FragmentedWriter
from storage.objectstore import LocalObjectStore, ObjectStore, S3ObjectStore
from storage.spool import SegmentMeta, Spool
from tests.media import make_h264_mp4, read_packets
from tests.s3server import S3Server

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = 1_764_000_000.0
SEGMENT_S = 6  # 150 frames at 25 fps, a keyframe every 2 s
GOP_S = 2.0
NOW = datetime.fromtimestamp(T0 + 3600, UTC)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


@dataclass(frozen=True)
class Footage:
    clip: Path  # the source of every segment
    packets: list[bytes]  # its packet payloads
    spool: Spool  # holds the finished segments (read only: tests copy what they change)
    segments: list[SegmentMeta]  # 11 x 6 s from T0
    small: SegmentMeta  # 160x120, from T0 + 66 s: the camera changed resolution


def _segment(spool: Spool, clip: Path, offset_s: float) -> SegmentMeta:
    info, packets = read_packets(clip, start_wall=T0 + offset_s)
    first, *rest = list(packets)
    part = spool.new_part("c1", "s1", datetime.fromtimestamp(first.wall_time, UTC))
    writer = FragmentedWriter(part, info, first)
    for packet in (first, *rest):
        writer.write(packet)
    writer.close()
    return spool.finish_part(part)


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Footage:
    root = tmp_path_factory.mktemp("export-footage")
    clip = make_h264_mp4(root / "clip.mp4", seconds=SEGMENT_S, gop=50)
    small = make_h264_mp4(root / "small.mp4", seconds=SEGMENT_S, gop=50, size=(160, 120))
    spool = Spool(root / "spool", tz=SHANGHAI)
    with av.open(str(clip)) as src:
        packets = [bytes(p) for p in src.demux(src.streams.video[0]) if p.size]
    return Footage(
        clip=clip,
        packets=packets,
        spool=spool,
        segments=[_segment(spool, clip, n * SEGMENT_S) for n in range(11)],
        small=_segment(spool, small, 11 * SEGMENT_S),
    )


async def _install(
    db: Database,
    store: ObjectStore,
    footage: Footage,
    metas: list[SegmentMeta],
    *,
    spooled: int = 0,
) -> None:
    """Register the camera and index `metas`; the last `spooled` ones stay in the spool."""
    await store.start()
    async with db.session() as s:
        await repo.sync_registry(
            s,
            [],
            [School(id="s1", name="局直小学", town_id=None, kind="primary", boarding=False)],
            [Camera(id="c1", school_id="s1", kitchen_id="k", name="热菜间", room="hot_kitchen")],
        )
    for n, meta in enumerate(metas):
        in_store = n < len(metas) - spooled
        if in_store:
            path = footage.spool.ready_path(meta.object_key)
            await store.put_file(meta.object_key, path, content_type="video/mp4")
        async with db.session() as s:
            status = SegmentStatus.STORED if in_store else SegmentStatus.SPOOLED
            await repo.add_segment(s, segment_row(meta, now=meta.end_at, status=status))


def _exporter(
    db: Database, store: ObjectStore, footage: Footage, tmp_path: Path, **options: float
) -> FootageExporter:
    return FootageExporter(
        db,
        store,
        work_dir=tmp_path / "work",
        spool=footage.spool.ready_path,
        now=lambda: NOW,
        **options,
    )


def _probe(path: Path) -> dict[str, object]:
    entries = "format=duration:stream=codec_name,width,height,profile,pix_fmt"
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", entries, "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout)
    return {"duration": float(data["format"]["duration"]), "stream": data["streams"][0]}


def _top_level_boxes(path: Path) -> list[str]:
    boxes, data = [], path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        offset += size if size else len(data)
    return boxes


def _packets(path: Path) -> list[tuple[bytes, float]]:
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        return [(bytes(p), float(p.pts * stream.time_base)) for p in src.demux(stream) if p.size]


async def _written(db: Database, store: LocalObjectStore) -> tuple[int, int, list[str]]:
    async with db.session() as s:
        exports = await s.scalar(select(func.count()).select_from(Export))
        audits = await s.scalar(select(func.count()).select_from(AuditEntry))
    return exports or 0, audits or 0, [k async for k in store.list_keys("exports/")]


def test_gaps_and_ranges_as_pure_functions() -> None:
    covered = [(at(0), at(6)), (at(6.01), at(12)), (at(20), at(30))]
    assert find_gaps(covered, at(-10), at(40)) == [
        (at(-10), at(0)),
        (at(12), at(20)),
        (at(30), at(40)),
    ]
    assert find_gaps(covered, at(1), at(11)) == []  # 10 ms of boundary jitter is no gap
    assert find_gaps(covered, at(29), at(32)) == []  # 2 s: within one GOP of tolerance
    check_range(at(0), at(10), now=at(10), max_range_s=10)  # ends now, exactly the maximum
    with pytest.raises(InvalidRange, match="10 min 01 s long; at most 10 min 00 s"):
        check_range(at(0), at(601), now=at(1000), max_range_s=600)


async def test_export_across_eleven_segments_copies_packets_into_one_faststart_mp4(
    no_lingering_tasks: None, db: Database, tmp_path: Path, footage: Footage
) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    await _install(db, store, footage, footage.segments, spooled=2)  # newest not uploaded yet
    exporter = _exporter(db, store, footage, tmp_path)

    result = await exporter.export("c1", at(3), at(63), actor="inspector-li")

    # Starts at the keyframe before the mid-GOP start, ends where asked: 61 s, not 60.
    assert result.media_start_at == at(2)
    assert result.media_end_at == at(63)
    assert result.gaps == ()
    assert not result.cached
    assert result.download_url is None  # local: the API serves store.open_local(key)
    assert result.object_key == f"exports/s1/c1/{result.id}.mp4"
    assert len(result.id) == 32
    path = await store.open_local(result.object_key)
    assert path is not None
    probe, source = _probe(path), _probe(footage.clip)
    assert abs(probe["duration"] - 60) <= GOP_S  # type: ignore[operator]
    assert probe["stream"] == source["stream"]  # codec parameters unchanged: no re-encode
    boxes = _top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")  # faststart
    # Every packet byte-identical, in order: the GOP from 2 s, nine whole segments, 3 s.
    expected = footage.packets[50:] + footage.packets * 9 + footage.packets[:75]
    exported = _packets(path)
    assert [data for data, _ in exported] == expected
    assert exported[100][1] == pytest.approx(4.0)  # segment 1 starts at media time 4 s
    assert exported[-1][1] == pytest.approx(61 - 0.04)
    assert result.bytes == path.stat().st_size
    async with db.session() as s:
        row = await s.get(Export, result.id)
        audit = (await s.scalars(select(AuditEntry))).one()
    assert row is not None and row.sha256 == result.sha256
    assert (audit.actor, audit.action, audit.object_key) == (
        "inspector-li",
        "export",
        row.object_key,
    )
    assert at(3).isoformat() in (audit.detail or "")
    assert list((tmp_path / "work").iterdir()) == []


async def test_recording_gap_stays_a_gap_in_the_timeline_and_is_reported(
    db: Database, tmp_path: Path, footage: Footage
) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    outage = [m for n, m in enumerate(footage.segments) if n not in (6, 7)]  # 36 s to 48 s
    await _install(db, store, footage, outage)

    result = await _exporter(db, store, footage, tmp_path).export(
        "c1", at(0), at(66), actor="inspector-li"
    )

    assert result.gaps == (ExportGap(at(36), at(48), GapReason.NO_RECORDING),)
    assert result.duration_s == pytest.approx(66)
    path = await store.open_local(result.object_key)
    assert path is not None
    assert _probe(path)["duration"] == pytest.approx(66, abs=0.1)
    times = [t for _, t in _packets(path)]
    assert times[899] == pytest.approx(36 - 0.04)
    assert times[900] == pytest.approx(48)  # media time stays wall time after the outage


async def test_export_stops_where_the_camera_changed_resolution(
    db: Database, tmp_path: Path, footage: Footage
) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    await _install(db, store, footage, [*footage.segments[-2:], footage.small])

    result = await _exporter(db, store, footage, tmp_path).export(
        "c1", at(60), at(72), actor="inspector-li"
    )

    assert result.duration_s == pytest.approx(6)
    assert result.gaps == (
        ExportGap(at(66), at(72), GapReason.STREAM_CHANGED, "h264 320x240 -> h264 160x120"),
    )


async def test_identical_request_is_served_from_cache_until_it_expires(
    db: Database, tmp_path: Path, footage: Footage
) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    await _install(db, store, footage, footage.segments[:3])
    exporter = _exporter(db, store, footage, tmp_path, cache_ttl_s=3600)

    # Two identical requests at once: the second waits for the first and reuses it.
    first, again = await asyncio.gather(
        exporter.export("c1", at(1), at(17), actor="inspector-li"),
        exporter.export("c1", at(1), at(17), actor="inspector-wang"),
    )

    assert again.cached and not first.cached
    assert (again.id, again.sha256, again.gaps) == (first.id, first.sha256, first.gaps)
    assert await exporter.get(first.id) == again
    assert await _written(db, store) == (1, 2, [first.object_key])  # both requests audited
    assert await exporter.expire(NOW + timedelta(minutes=59)) == 0
    assert await exporter.expire(NOW + timedelta(minutes=60)) == 1
    assert await _written(db, store) == (0, 3, [])
    async with db.session() as s:
        actions = sorted((a.actor, a.action) for a in await s.scalars(select(AuditEntry)))
    assert actions[0] == ("inspector-li", "export") and ("system", "export_expire") in actions


async def test_bad_requests_fail_clearly_and_write_nothing(
    no_lingering_tasks: None, db: Database, tmp_path: Path, footage: Footage
) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    await _install(db, store, footage, footage.segments[:3])
    broken = footage.segments[1].object_key
    (store.root / broken).unlink()  # indexed as stored, but the object is gone
    exporter = _exporter(db, store, footage, tmp_path, max_range_s=600)
    naive = datetime(2025, 11, 24, 16, 0)
    cases = [
        ("c1", NOW - timedelta(seconds=30), NOW + timedelta(seconds=30), InvalidRange, "future"),
        ("c1", at(30), at(10), InvalidRange, "reversed"),
        ("c1", at(10), at(10), InvalidRange, "empty"),
        ("c1", at(0), at(601), InvalidRange, "at most 10 min"),
        ("c1", naive, naive + timedelta(seconds=5), InvalidRange, "time zone"),
        ("c404", at(0), at(10), UnknownCamera, "no camera 'c404'"),
        ("c1", at(-600), at(-60), NoFootage, "recorded nothing"),
        ("c1", at(0), at(18), ExportFailed, re.escape(f"segment {broken} is not in the store")),
    ]
    for camera, start, end, error, message in cases:
        with pytest.raises(error, match=message):
            await exporter.export(camera, start, end, actor="inspector-li")
    assert await _written(db, store) == (0, 0, [])
    work = tmp_path / "work"
    assert not work.exists() or list(work.iterdir()) == []


async def test_spooled_segment_uploaded_meanwhile_is_read_from_the_store(
    db: Database, tmp_path: Path, footage: Footage
) -> None:
    # The row still says spooled, but the archive has uploaded it and emptied the spool.
    store = LocalObjectStore(tmp_path / "objects")
    await _install(db, store, footage, footage.segments[:1], spooled=1)
    meta = footage.segments[0]
    shutil.copy(footage.spool.ready_path(meta.object_key), tmp_path / "x.mp4")
    await store.put_file(meta.object_key, tmp_path / "x.mp4", content_type="video/mp4")
    exporter = FootageExporter(
        db, store, work_dir=tmp_path / "work", spool=lambda key: tmp_path / "gone", now=lambda: NOW
    )
    result = await exporter.export("c1", at(0), at(6), actor="inspector-li")
    assert result.duration_s == pytest.approx(6)


async def test_export_from_s3_downloads_segments_and_is_served_by_presigned_url(
    db: Database, tmp_path: Path, footage: Footage, s3_server: S3Server
) -> None:
    creds = s3_server.credentials
    store = S3ObjectStore(
        endpoint=s3_server.endpoint,
        bucket=f"t-{uuid.uuid4().hex[:16]}",
        access_key=creds.access_key,
        secret_key=creds.secret_key,
        secure=False,
    )
    await _install(db, store, footage, footage.segments[:3])

    result = await _exporter(db, store, footage, tmp_path).export(
        "c1", at(1), at(17), actor="inspector-li"
    )

    assert result.download_url is not None
    async with httpx.AsyncClient() as client:
        response = await client.get(result.download_url)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == result.sha256
    assert list((tmp_path / "work").iterdir()) == []  # downloaded segments removed
