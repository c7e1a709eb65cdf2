"""The hub against the camera simulator: online, recording, outages, restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import av
import av.logging
import pytest
from sqlalchemy import select

from camera_adapters.simulator import CameraSimulator
from hub.ingest.supervisor import CameraState
from hub.runtime import Hub
from storage.db import repository as repo
from storage.db.models import Segment, SegmentStatus
from storage.mp4 import sha256_of
from tests.hubconfig import load_test_config
from tests.waiting import eventually

GOP_S = 2.0  # the simulator's clips have a keyframe every 2 s


def _all(hub: Hub, state: CameraState) -> bool:
    return all(e.supervisor.status.state is state for e in hub.cameras.values())


async def _stored_segments(hub: Hub) -> list[Segment]:
    async with hub.db.session() as s:
        return list(await s.scalars(select(Segment).order_by(Segment.camera_id, Segment.start_at)))


async def test_cameras_come_online_and_record_gapless_segments(
    no_lingering_tasks: None, simulator: CameraSimulator, tmp_path: Path, db_url: str
) -> None:
    rtsp = simulator.add_camera("cam-a", clip="people", sub_stream=True)
    onvif = simulator.add_onvif_device("cam-b", username="admin", password="pw")
    config = load_test_config(
        tmp_path,
        [
            f"{{id: cam-a, name: 热菜间, rtsp_url: '{rtsp}'}}",
            "{id: cam-b, name: 凉菜间, room: cold_dish, "
            f"onvif: {{host: 127.0.0.1, port: {onvif.port}, username: admin, password: pw}}}}",
        ],
        db_url=db_url,
        segment_seconds=5,
    )
    hub = Hub(config)
    await hub.start()
    try:
        await eventually(
            lambda: _all(hub, CameraState.ONLINE), within=60, what="both cameras online"
        )
        await eventually(
            lambda: all(e.recorder.segments_written >= 3 for e in hub.cameras.values()),
            within=40,
            what="three segments per camera",
        )
        await eventually(lambda: hub.archive.uploaded >= 6, within=60, what="uploads")
        stats = hub.stream_stats()
        # One RTSP session per camera, whatever consumes it inside the hub.
        assert simulator.stats() == {
            "/cam-a/main": 1,
            "/cam-a/sub": 0,
            "/cam-b/main": 1,
            "/cam-b/sub": 0,
        }
    finally:
        await hub.stop()

    for cam in ("cam-a", "cam-b"):
        assert abs(stats[cam].fps - 25) < 2
        assert stats[cam].keyframe_interval_s == pytest.approx(GOP_S, abs=0.2)
    # hub.stop() closes the database: reopen to inspect what it left.
    await hub.db.start()
    try:
        rows = await _stored_segments(hub)
        async with hub.db.session() as s:
            statuses = await repo.camera_statuses(s)
    finally:
        await hub.db.stop()
    assert {s.state for s in statuses.values()} == {"stopped"}
    for cam in ("cam-a", "cam-b"):
        mine = [r for r in rows if r.camera_id == cam]
        assert len(mine) >= 3
        for a, b in pairwise(mine):
            assert timedelta(0) <= b.start_at - a.end_at <= timedelta(seconds=GOP_S)
        for row in mine:
            assert row.codec == "h264" and (row.width, row.height) == (1280, 720)
            if row.status == SegmentStatus.STORED:
                path = Path(config.storage.object_store.root) / row.object_key
                assert sha256_of(path) == row.sha256
    assert sum(r.status == SegmentStatus.STORED for r in rows) >= 6
    # The recording really plays: every frame of a segment decodes, none with errors.
    stored = next(r for r in rows if r.status == SegmentStatus.STORED)
    frames = _decode_all(Path(config.storage.object_store.root) / stored.object_key)
    expected = (stored.end_at - stored.start_at).total_seconds() * 25
    assert abs(frames - expected) <= 1


def _decode_all(path: Path) -> int:
    """Decode every frame; FFmpeg must not complain about a single NAL unit."""
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    try:
        with av.open(str(path)) as container, av.logging.Capture() as messages:
            frames = sum(1 for _ in container.decode(container.streams.video[0]))
    finally:
        av.logging.set_level(previous)
    assert messages == []
    return frames


@pytest.mark.waits  # the half-minute outage
async def test_simulator_outage_goes_offline_with_reason_and_recovers(
    no_lingering_tasks: None, simulator: CameraSimulator, tmp_path: Path
) -> None:
    urls = [simulator.add_camera(f"cam-{i}", clip="people") for i in range(3)]
    config = load_test_config(
        tmp_path,
        [f"{{id: cam-{i}, name: 摄像头{i}, rtsp_url: '{u}'}}" for i, u in enumerate(urls)],
        segment_seconds=5,
        backoff_max_s=1.0,
    )
    hub = Hub(config)
    await hub.start()
    try:
        await eventually(lambda: _all(hub, CameraState.ONLINE), within=60, what="cameras online")
        await eventually(
            lambda: all(e.recorder.segments_written >= 1 for e in hub.cameras.values()),
            within=60,
            what="a first segment",
        )
        before = {c: e.recorder.segments_written for c, e in hub.cameras.items()}
        simulator.kill()
        await eventually(lambda: _all(hub, CameraState.OFFLINE), within=60, what="cameras offline")
        reasons = {e.supervisor.status.reason for e in hub.cameras.values()}
        await asyncio.sleep(30)  # the outage: half a minute of reconnect attempts
        assert _all(hub, CameraState.OFFLINE)
        simulator.restart()
        await eventually(
            lambda: _all(hub, CameraState.ONLINE), within=60, what="cameras back online"
        )
        await eventually(
            lambda: all(
                e.recorder.segments_written >= before[c] + 2 for c, e in hub.cameras.items()
            ),
            within=30,
            what="recording resumed",
        )
        history = []

        async def back_online_in_history() -> bool:
            # The status writer records the state a moment after the supervisor changes it.
            nonlocal history
            async with hub.db.session() as s:
                history = await repo.state_history(s, "cam-0")
            return bool(history) and (history[-1].state, history[-1].reason) == ("online", None)

        await eventually(back_online_in_history, within=60, what="cam-0 online in its history")
    finally:
        await hub.stop()
    assert reasons <= {"stream_ended", "connection_refused", "timeout"}
    states = [(h.state, h.reason) for h in history]
    offline = [h for h in history if h.state == "offline"]
    assert offline and offline[0].reason is not None and offline[0].ended_at is not None
    assert states[-1] == ("online", None)
    # The outage split the recording: a segment ended before it and a new one began after.
    assert any(h.state == "online" for h in history[history.index(offline[0]) :])
