"""Cameras attached to and detached from a running hub (what a cluster node does with the
cameras it holds a lease on), against the camera simulator; and the health history a
camera's next watcher takes over."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from camera_adapters.simulator import CameraSimulator
from hub.config import load_config
from hub.config.health import CheckName
from hub.health.model import Change, ChangeKind, Finding, Problem
from hub.health.monitor import CameraMonitor
from hub.health.rules import rules_from
from hub.health.store import HealthStore
from hub.ingest.supervisor import CameraState
from hub.runtime import Hub, registry_rows
from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import Event, Segment, SegmentStatus
from storage.db.models_health import HealthPeriod
from tests.hubconfig import load_test_config, write_config
from tests.test_detection_e2e import EXTRA, MODEL
from tests.waiting import eventually

pytestmark = pytest.mark.slow

A, B = "/cam-a/main", "/cam-b/main"


async def _segments(hub: Hub, camera_id: str) -> list[Segment]:
    async with hub.db.session() as s:
        query = select(Segment).where(Segment.camera_id == camera_id).order_by(Segment.start_at)
        return list(await s.scalars(query))


async def _open_violations(hub: Hub, camera_id: str) -> int:
    async with hub.db.session() as s:
        query = select(Event).where(
            Event.kind == "violation", Event.camera_id == camera_id, Event.ended_at.is_(None)
        )
        return len(list(await s.scalars(query)))


async def _recording(hub: Hub, camera_id: str, segments: int, *, stored: int) -> None:
    entry = hub.cameras[camera_id]
    assert entry.recorder is not None
    await eventually(
        lambda: entry.supervisor.status.state is CameraState.ONLINE,
        within=60,
        what=f"{camera_id} online",
    )
    recorder = entry.recorder
    await eventually(
        lambda: recorder.segments_written >= segments, within=60, what=f"{camera_id} segments"
    )

    async def archived() -> bool:
        rows = await _segments(hub, camera_id)
        return sum(r.status == SegmentStatus.STORED for r in rows) >= stored

    await eventually(archived, within=60, what=f"{camera_id}'s segments archived")


async def test_cameras_attach_and_detach_while_the_hub_runs(
    no_lingering_tasks: None, simulator: CameraSimulator, tmp_path: Path
) -> None:
    urls = {c: simulator.add_camera(c, clip="people", sub_stream=False) for c in ("cam-a", "cam-b")}
    path = write_config(
        tmp_path,
        [f"{{id: {c}, name: 摄像头{c[-1]}, rtsp_url: '{u}'}}" for c, u in urls.items()],
        segment_seconds=5,
        backoff_max_s=1.0,
    )
    with_detection = MODEL.is_file()
    if with_detection:
        path.write_text(path.read_text() + EXTRA, encoding="utf-8")
    hub = Hub(load_config(path))
    await hub.start(attach_all=False)
    try:
        assert hub.owned_cameras() == set() and hub.stream_stats() == {}
        assert hub.health.sampler("cam-a") is None and hub.detection.cameras == {}
        assert simulator.stats() == {A: 0, B: 0}

        await hub.attach_camera("cam-a")
        first = hub.cameras["cam-a"]
        await hub.attach_camera("cam-a")  # idempotent: the same components
        assert hub.cameras["cam-a"] is first and hub.owned_cameras() == {"cam-a"}
        await _recording(hub, "cam-a", 2, stored=1)
        assert set(hub.stream_stats()) == {"cam-a"}
        assert simulator.stats() == {A: 1, B: 0}  # one session, and none for cam-b
        assert hub.health.monitor("cam-a") is not None
        if with_detection:
            assert hub.detection.status()["state"] == "running"
            assert set(hub.detection.cameras) == {"cam-a"}
        await eventually(
            lambda: hub.frames.newest("cam-a") is not None, within=30, what="an evidence frame"
        )

        recorder = first.recorder
        assert recorder is not None
        await hub.detach_camera("cam-a")
        written = recorder.segments_written  # the segment in progress was finished
        await hub.detach_camera("cam-a")  # idempotent
        assert hub.owned_cameras() == set() and hub.stream_stats() == {}
        assert first.supervisor.status.state is CameraState.STOPPED
        assert hub.health.monitor("cam-a") is None and hub.health.sampler("cam-a") is None
        assert "cam-a" not in hub.detection.cameras and hub.frames.newest("cam-a") is None
        await eventually(
            lambda: simulator.stats()[A] == 0, within=30, what="cam-a's session closed"
        )

        async def all_archived() -> bool:
            rows = await _segments(hub, "cam-a")
            return len(rows) == written and all(r.status == SegmentStatus.STORED for r in rows)

        await eventually(all_archived, within=60, what="every segment of cam-a archived")
        assert await _open_violations(hub, "cam-a") == 0  # ended as on stop, if any

        await hub.attach_camera("cam-a")  # re-attached: new components, recording again
        again = hub.cameras["cam-a"]
        assert again is not first
        await _recording(hub, "cam-a", 1, stored=written + 1)
        assert simulator.stats() == {A: 1, B: 0}
        if with_detection:
            assert set(hub.detection.cameras) == {"cam-a"}
    finally:
        await hub.stop()
    await hub.detach_camera("cam-a")  # after stop: harmless
    await eventually(lambda: simulator.stats() == {A: 0, B: 0}, within=30, what="no session")


async def test_attach_needs_a_started_hub_and_a_configured_camera(tmp_path: Path) -> None:
    hub = Hub(
        load_test_config(tmp_path, ["{id: cam-a, name: 热菜间, rtsp_url: 'rtsp://127.0.0.1:1/x'}"])
    )
    with pytest.raises(RuntimeError):
        await hub.attach_camera("cam-a")
    with pytest.raises(KeyError):
        await hub.attach_camera("cam-z")
    await hub.detach_camera("cam-a")  # nothing attached: harmless


def _offline(monitor: CameraMonitor, at: float, bad: bool) -> list[Change]:
    return monitor.apply([(at, Finding(CheckName.OFFLINE, bad, "timeout" if bad else ""))])


async def test_a_camera_handed_over_keeps_its_open_problem_and_the_next_watcher_ends_it(
    tmp_path: Path,
) -> None:
    config = load_test_config(
        tmp_path, ["{id: cam-a, name: 热菜间, rtsp_url: 'rtsp://127.0.0.1:1/x'}"]
    )
    db = Database(config.database.url)
    await db.start()
    rules = rules_from(config.health)
    now = datetime.now(UTC)
    leaving = HealthStore(db, rules, raise_event=None)  # this hub, then the next owner
    taking = HealthStore(db, rules, raise_event=None)
    try:
        async with db.session() as s:
            await repo.sync_registry(s, *registry_rows(config))
        await leaving.start(now)
        await taking.start(now)
        old = CameraMonitor("cam-a", config.health, rules)
        t = time.time()
        changes = [c for i in range(10) for c in _offline(old, t + i, True)]
        assert [c.kind for c in changes] == [ChangeKind.RAISED]
        leaving.submit(changes)
        leaving.release("cam-a")  # handed over: no recovery written
        await leaving.stop(now)  # its writes are done before the next watcher reads

        new = CameraMonitor("cam-a", config.health, rules)
        adopted: list[list[Problem]] = []

        def found(problems: list[Problem]) -> None:
            adopted.append(problems)
            new.adopt(problems)

        taking.adopt("cam-a", found)
        await eventually(lambda: bool(adopted), within=30, what="the open problems read")
        assert [p.check for p in adopted[0]] == [CheckName.OFFLINE]
        assert set(new.problems) == {CheckName.OFFLINE}
        assert _offline(new, t + 20, True) == []  # still offline: the same problem, no new one
        # A raise the new watcher made before the adoption was read continues the row too.
        taking.submit([Change(ChangeKind.RAISED, new.problems[CheckName.OFFLINE], now)])
        cleared = [c for i in range(5) for c in _offline(new, t + 30 + i, False)]
        assert [c.kind for c in cleared] == [ChangeKind.CLEARED]
        taking.submit(cleared)
    finally:
        await leaving.stop(now)
        await taking.stop(now)
    try:
        async with db.session() as s:
            periods = list(
                await s.scalars(select(HealthPeriod).where(HealthPeriod.camera_id == "cam-a"))
            )
            events = list(await s.scalars(select(Event).where(Event.kind == "health")))
    finally:
        await db.stop()
    assert len(periods) == 1 and len(events) == 1  # one problem, raised once
    assert periods[0].ended_at is not None and events[0].ended_at is not None  # by the new one
