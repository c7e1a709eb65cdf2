"""Storage benchmarks: object-store upload throughput and footage-export latency.

    .venv/bin/python -m bench.storage [--store local|s3|all] [--segments 11]
                                      [--segment-seconds 60] [--minutes 10]

Run it from the repository root as a module (it reuses tests/media.py to make the footage).
Encodes ONE segment of 1280x720 25 fps H.264 at 2 Mbit/s (libx264 ultrafast, keyframe every
2 s, like a kitchen camera's main stream), re-times
its packets into N consecutive segments in a throw-away spool, then for each store: uploads
and indexes them (MB/s) in a throw-away SQLite database, and times `FootageExporter.export()`
of a range spanning all of them (default: 10 minutes across 11 one-minute segments). The S3
store is moto on loopback (tests/s3server.py): it shows the hub's overhead, not MinIO's speed.

Each store is one `StoreUnderTest` (a name and a factory); add another there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import numpy as np

# Run as a script, this folder comes first on sys.path, and bench/storage.py would shadow the
# `storage` package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.archive import segment_row
from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import Camera, School, SegmentStatus
from storage.export import ExportResult, FootageExporter
from storage.mp4 import FragmentedWriter
from storage.objectstore import LocalObjectStore, ObjectStore, S3ObjectStore
from storage.spool import SegmentMeta, Spool
from tests.media import read_packets

TZ = ZoneInfo("Asia/Shanghai")
T0 = 1_764_000_000.0  # wall time of the first segment
CAMERA, SCHOOL = "bench-cam", "bench-school"


@dataclass(frozen=True, slots=True)
class StoreUnderTest:
    name: str
    open: Callable[[Path], AbstractAsyncContextManager[ObjectStore]]


@asynccontextmanager
async def local_store(root: Path) -> AsyncIterator[ObjectStore]:
    yield LocalObjectStore(root / "objects")


@asynccontextmanager
async def s3_store(root: Path) -> AsyncIterator[ObjectStore]:
    from tests.s3server import S3Server  # only this store needs moto

    server = S3Server()
    await asyncio.to_thread(server.start)
    try:
        creds = server.credentials
        yield S3ObjectStore(
            endpoint=server.endpoint,
            bucket=f"bench-{uuid.uuid4().hex[:8]}",
            access_key=creds.access_key,
            secret_key=creds.secret_key,
            secure=False,
        )
    finally:
        await asyncio.to_thread(server.close)


STORES = {s.name: s for s in (StoreUnderTest("local", local_store), StoreUnderTest("s3", s3_store))}


def encode_clip(
    path: Path, *, seconds: int, size: tuple[int, int], kbps: int, fps: int = 25, gop: int = 50
) -> Path:
    """H.264 at a camera-like bitrate: a moving gradient with sensor-like noise, so x264 cannot
    squeeze it far below `kbps` (tests/media.py's clean gradient comes out near 200 kbit/s)."""
    width, height = size
    rng = np.random.default_rng(7)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = kbps * 1000
        stream.options = {
            "g": str(gop),
            "keyint_min": str(gop),
            "bf": "0",
            "preset": "ultrafast",
            "maxrate": f"{kbps}k",
            "bufsize": f"{kbps * 2}k",
        }
        x = np.arange(width, dtype=np.uint16)
        for n in range(seconds * fps):
            img = np.empty((height, width), np.uint8)
            img[:] = ((x + n * 4) % 256).astype(np.uint8)[None, :]
            img += rng.integers(0, 24, size=(height, width), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="gray")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def build_segments(
    root: Path, *, count: int, seconds: int, size: tuple[int, int] = (1280, 720), kbps: int = 2000
) -> tuple[Spool, list[SegmentMeta]]:
    """`count` consecutive finished segments in a spool under `root`, from one encoded clip."""
    clip = encode_clip(root / "clip.mp4", seconds=seconds, size=size, kbps=kbps)
    spool = Spool(root / "spool", tz=TZ)
    metas = []
    for n in range(count):
        info, packets = read_packets(clip, start_wall=T0 + n * seconds)
        first = next(packets)
        part = spool.new_part(CAMERA, SCHOOL, datetime.fromtimestamp(first.wall_time, UTC))
        writer = FragmentedWriter(part, info, first)
        writer.write(first)
        for packet in packets:
            writer.write(packet)
        writer.close()
        metas.append(spool.finish_part(part))
    return spool, metas


async def upload(db: Database, store: ObjectStore, spool: Spool, metas: list[SegmentMeta]) -> float:
    """Upload and index every segment as stored; returns the seconds the uploads took."""
    await store.start()
    async with db.session() as s:
        await repo.sync_registry(
            s,
            [],
            [School(id=SCHOOL, name="基准学校", town_id=None, kind="primary", boarding=False)],
            [Camera(id=CAMERA, school_id=SCHOOL, kitchen_id="k", name="热菜间", room="hot")],
        )
    took = 0.0
    for meta in metas:
        t = time.perf_counter()
        await store.put_file(
            meta.object_key, spool.ready_path(meta.object_key), content_type="video/mp4"
        )
        took += time.perf_counter() - t
        async with db.session() as s:
            await repo.add_segment(
                s, segment_row(meta, now=meta.end_at, status=SegmentStatus.STORED)
            )
    return took


async def time_export(
    db: Database, store: ObjectStore, work: Path, start: datetime, end: datetime
) -> tuple[float, ExportResult]:
    exporter = FootageExporter(db, store, work_dir=work, now=lambda: end + timedelta(hours=1))
    t = time.perf_counter()
    result = await exporter.export(CAMERA, start, end, actor="bench")
    return time.perf_counter() - t, result


async def bench_store(
    which: StoreUnderTest, root: Path, spool: Spool, metas: list[SegmentMeta], minutes: float
) -> None:
    total_mb = sum(m.bytes for m in metas) / 1e6
    db = Database(f"sqlite+aiosqlite:///{root / f'{which.name}.db'}")
    await db.start()
    try:
        async with which.open(root / which.name) as store:
            took = await upload(db, store, spool, metas)
            print(
                f"[{which.name}] upload: {total_mb:.1f} MB in {took:.2f} s = "
                f"{total_mb / took:.0f} MB/s ({store.describe()})"
            )
            start = metas[0].start_at + timedelta(seconds=30)
            seconds, result = await time_export(
                db, store, root / which.name / "work", start, start + timedelta(minutes=minutes)
            )
            print(
                f"[{which.name}] export of {minutes:g} min across {len(metas)} segments: "
                f"{seconds:.2f} s ({result.bytes / 1e6:.1f} MB, {result.duration_s:.1f} s of "
                f"video from {result.media_start_at:%H:%M:%S}, {len(result.gaps)} gap(s))"
            )
            local = await store.open_local(result.object_key)
            if local is not None:
                same = probe(local)["stream"] == probe(root / "clip.mp4")["stream"]
                print(
                    f"[{which.name}] ffprobe: {probe(local)}; codec parameters "
                    f"{'unchanged' if same else 'CHANGED'}"
                )
    finally:
        await db.stop()


def probe(path: Path) -> dict[str, object]:
    entries = "format=duration:stream=codec_name,width,height,profile,pix_fmt"
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", entries, "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    return {"duration": float(data["format"]["duration"]), "stream": data["streams"][0]}


@contextlib.contextmanager
def _workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bkhub-bench-storage-") as tmp:
        yield Path(tmp)


async def run(stores: list[str], *, segments: int, segment_seconds: int, minutes: float) -> None:
    with _workspace() as root:
        t = time.perf_counter()
        spool, metas = await asyncio.to_thread(
            build_segments, root, count=segments, seconds=segment_seconds
        )
        print(
            f"footage: {segments} x {segment_seconds} s of 1280x720 25 fps 2 Mbit/s, "
            f"{sum(m.bytes for m in metas) / 1e6:.1f} MB, built in {time.perf_counter() - t:.1f} s"
        )
        for name in stores:
            await bench_store(STORES[name], root, spool, metas, minutes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=[*STORES, "all"], default="all")
    parser.add_argument("--segments", type=int, default=11)
    parser.add_argument("--segment-seconds", type=int, default=60)
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    stores = list(STORES) if args.store == "all" else [args.store]
    if args.minutes * 60 > (args.segments * args.segment_seconds) - 30:
        parser.error("--minutes must fit in the footage after its first 30 s")
    asyncio.run(
        run(
            stores,
            segments=args.segments,
            segment_seconds=args.segment_seconds,
            minutes=args.minutes,
        )
    )


if __name__ == "__main__":
    main()
