"""Violation events on real databases (SQLite and PostgreSQL) and a real local object store:
the row through the alerts outbox, an annotated JPEG, a copy-mode clip from the pre-roll
ring; a dead store keeps the row and stores the media once it is back."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import select

from camera_adapters.packets import EncodedPacket
from detectors.detection import Detection
from hub.alerts import AlertService
from hub.config import HubConfig
from hub.config.detection import ViolationType
from hub.detection.events import CameraRef, ViolationEvents
from hub.detection.media import EventMedia
from hub.detection.ring import PacketRing
from hub.detection.rules import Closed, Opened, Updated
from hub.ingest.fanout import PacketFanout, StreamStarted
from storage.db import models
from storage.db.database import Database
from storage.db.models_alerts import AlertState
from storage.objectstore import LocalObjectStore
from tests.hubconfig import load_test_config
from tests.media import make_h264_mp4, read_packets

START = 1_800_000_000.0
TZ = ZoneInfo("Asia/Shanghai")
CAMERA = CameraRef("cam-1", "s1")
PERSON = Detection("person", 0.9, 100, 40, 220, 230)
HEAD = Detection("head_bare", 0.83, 135, 45, 185, 95)
OTHER = Detection("person", 0.8, 240, 60, 300, 230)


@pytest.fixture(scope="module")
def clip30(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 s of 320x240 25 fps H.264, a keyframe every second."""
    return make_h264_mp4(tmp_path_factory.mktemp("m") / "c30.mp4", seconds=30, gop=25)


@pytest.fixture
async def setup(db: Database, tmp_path: Path) -> AsyncIterator[tuple[HubConfig, AlertService]]:
    config = load_test_config(tmp_path, ["{id: cam-1, name: 热菜间, rtsp_url: 'rtsp://h/x'}"])
    async with db.session() as s:
        s.add(models.Town(id="t1", name="东城镇"))
        await s.flush()  # no ORM relationships: parents first, by hand
        s.add(models.School(id="s1", name="东城小学", town_id="t1", kind="primary"))
        await s.flush()
        s.add(models.Camera(id="cam-1", school_id="s1", kitchen_id="main", name="热菜间",
                            room="hot_kitchen"))  # fmt: skip
    yield config, AlertService(config, db)


def _events(db: Database, store: LocalObjectStore, tmp_path: Path, alerts: AlertService,
            *, pre: float = 3.0, post: float = 3.0) -> ViolationEvents:  # fmt: skip
    return ViolationEvents(
        db, EventMedia(db, store, tmp_path / "spool"), raise_event=alerts.raise_event, tz=TZ,
        pre_roll_s=pre, post_roll_s=post,
    )  # fmt: skip


async def _feed(fanout: PacketFanout, packets: list[EncodedPacket]) -> None:
    for packet in packets:
        fanout.publish(packet)
        await asyncio.sleep(0.0005)  # the ring's thread keeps up (its queue is bounded)


def _frame() -> np.ndarray:
    return np.full((240, 320, 3), 90, np.uint8)


def _opened(at: float, started: float) -> Opened:
    return Opened("v1", ViolationType.NO_CHEF_HAT, "person-3", started, at, 0.81, (PERSON, HEAD))


async def _row(db: Database) -> models.Event:
    async with db.session() as s:
        rows = list(await s.scalars(select(models.Event)))
    assert len(rows) == 1
    return rows[0]


async def test_event_row_snapshot_and_clip(
    db: Database, setup: tuple[HubConfig, AlertService], tmp_path: Path, clip30: Path
) -> None:
    _config, alerts = setup
    store = LocalObjectStore(tmp_path / "objects")
    await store.start()
    events = _events(db, store, tmp_path, alerts)
    info, packets_iter = read_packets(clip30, start_wall=START)
    packets = list(packets_iter)
    fanout = PacketFanout()
    ring = PacketRing("cam-1", fanout, keep_s=8)
    ring.start()
    try:
        await events.start(["cam-1"])
        fanout.publish(StreamStarted(info))
        await _feed(fanout, [p for p in packets if p.wall_time < START + 15])
        assert 8 <= ring.span_s <= 10  # whole GOPs covering keep_s
        # Onset at 12 s, raised at 14 s: the clip is 9 s (12 - 3) to 17 s (14 + 3).
        event_id = events.opened(CAMERA, _opened(START + 14, START + 12), _frame(),
                                 [PERSON, HEAD, OTHER], ring)  # fmt: skip
        events.updated(event_id, Updated("v1", ViolationType.NO_CHEF_HAT, START + 24, START + 24,
                                         0.85, ("person-3", "person-7")))  # fmt: skip
        await _feed(fanout, [p for p in packets if p.wall_time >= START + 15])
        events.closed(
            event_id,
            Closed("v1", ViolationType.NO_CHEF_HAT, START + 26, 0.84, ("person-3", "person-7")),
            START + 40,
        )
        await events.stop()
    finally:
        await asyncio.to_thread(ring.stop)

    row = await _row(db)
    assert (row.id, row.kind, row.type, row.camera_id) == (event_id, "violation", "no_chef_hat",
                                                          "cam-1")  # fmt: skip
    assert (row.school_id, row.town_id, row.track_id) == ("s1", "t1", "person-3")
    assert row.started_at.timestamp() == START + 12
    assert row.ended_at is not None and row.ended_at.timestamp() == START + 26
    assert row.updated_at.timestamp() == START + 40 and row.confidence == 0.84
    detail = json.loads(row.detail or "{}")
    assert detail["tracks"] == ["person-3", "person-7"]
    assert detail["evidence"][1][0] == "head_bare"
    async with db.session() as s:  # raised through the outbox: escalation state exists
        assert await s.get(AlertState, event_id) is not None

    assert row.snapshot_key and row.snapshot_key.startswith("snapshots/s1/cam-1/")
    jpeg = await store.read_bytes(row.snapshot_key)
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape == (240, 320, 3)
    b, g, r = (int(v) for v in picture[95, 160])  # on the head box's bottom edge: red
    assert r - max(g, b) > 60, (b, g, r)  # (a 1 px line: JPEG halves its chroma)
    b, g, r = (int(v) for v in picture[150, 240])  # the other person's box: grey, not red
    assert abs(r - g) < 40 and r > 150
    # The same frame unannotated and full size: what a verdict keeps as a hard example.
    assert row.frame_key and row.frame_key.startswith("frames/s1/cam-1/")
    raw = cv2.imdecode(np.frombuffer(await store.read_bytes(row.frame_key), np.uint8), 1)
    assert raw is not None and raw.shape == (240, 320, 3)
    assert int(np.abs(raw.astype(int) - _frame()).max()) <= 2  # no box drawn, only JPEG noise

    assert row.clip_key and row.clip_key.startswith("clips/s1/cam-1/")
    local = await store.open_local(row.clip_key)
    assert local is not None
    with av.open(str(local)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        sizes = [p.size for p in container.demux(stream) if p.size]
        duration = float(Fraction(container.duration or 0, av.time_base))
    source = [p for p in packets if START + 9 <= p.wall_time <= START + 17]
    assert sizes == [len(p.data) for p in source]  # copy-mode: the camera's packets as sent
    assert 7.9 <= duration <= 8.2
    assert detail["clip"]["complete"] is True
    assert not list((tmp_path / "spool" / "events").rglob("*.*"))  # nothing left behind


async def test_dead_store_keeps_the_event_and_stores_media_later(
    db: Database, setup: tuple[HubConfig, AlertService], tmp_path: Path,
    clip30: Path, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    _config, alerts = setup
    blocked = tmp_path / "objects"
    blocked.write_text("not a directory")  # every put fails: the store is down
    store = LocalObjectStore(blocked)
    events = _events(db, store, tmp_path, alerts, pre=1, post=1)
    info, packets_iter = read_packets(clip30, start_wall=START)
    packets = list(packets_iter)
    fanout = PacketFanout()
    ring = PacketRing("cam-1", fanout, keep_s=5)
    ring.start()
    caplog.set_level(logging.ERROR, logger="hub.detection")
    try:
        await events.start(["cam-1"])
        fanout.publish(StreamStarted(info))
        await _feed(fanout, [p for p in packets if p.wall_time < START + 6])
        event_id = events.opened(CAMERA, _opened(START + 5, START + 4), _frame(), [PERSON], ring)
        await _feed(fanout, [p for p in packets if START + 6 <= p.wall_time < START + 9])
        await events.stop()
    finally:
        await asyncio.to_thread(ring.stop)
    row = await _row(db)
    assert row.id == event_id and row.snapshot_key is None and row.clip_key is None
    assert "not stored (kept locally, retried)" in caplog.text
    pending = sorted(p.name for p in (tmp_path / "spool" / "events").rglob("*.pending.json"))
    assert len(pending) == 3  # the snapshot, the frame and the clip wait on local disk

    blocked.unlink()  # the store is back
    await store.start()
    assert await events.media.retry_pending() == 3
    row = await _row(db)
    assert row.snapshot_key and await store.stat(row.snapshot_key)
    assert row.frame_key and await store.stat(row.frame_key)
    assert row.clip_key and await store.stat(row.clip_key)
    assert not list((tmp_path / "spool" / "events").rglob("*.pending.json"))


async def test_start_closes_events_a_crash_left_open(
    db: Database, setup: tuple[HubConfig, AlertService], tmp_path: Path
) -> None:
    _config, alerts = setup
    store = LocalObjectStore(tmp_path / "objects")
    events = _events(db, store, tmp_path, alerts)
    await events.start(["cam-1"])
    events.opened(CAMERA, _opened(START + 5, START + 2), None, [], None)  # no picture: no file
    await events.stop()
    row = await _row(db)
    assert row.ended_at is None and row.snapshot_key is None and row.frame_key is None
    again = _events(db, store, tmp_path, alerts)
    t0 = time.monotonic()
    await again.start(["cam-1"])
    await again.stop()
    assert time.monotonic() - t0 < 5
    row = await _row(db)
    assert row.ended_at == row.updated_at
