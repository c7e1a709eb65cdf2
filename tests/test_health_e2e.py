"""Health against the simulator: each fault detected with the right reason within 60 s and
cleared within 60 s after it ends; the healthy camera raises nothing. One hub, all faults
at once (2 cores: the 360p clips keep decoding cheap)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from camera_adapters.simulator import MEDIA_DIR, CameraSimulator, Fault
from hub.config import load_config
from hub.config.health import CheckName
from hub.runtime import Hub
from storage.db.models import Event
from storage.db.models_health import MONITORING, HealthPeriod
from tests.hubconfig import write_config
from tests.waiting import eventually

pytestmark = pytest.mark.slow

CLIP = MEDIA_DIR / "people-360p.h264"
HEALTH = """
health:
  sample_every_s: 1
  check_every_s: 0.5
  reference_every_s: 1
  onvif_clock_every_s: 2
  recording_every_s: 5
  digest_at: null
  thresholds: {baseline_samples: 5}
  checks: {offline: {raise_after: 4}}
"""
# camera -> (fault, check, acceptable reasons)
FAULTS: dict[str, tuple[str, CheckName, set[str]]] = {
    "cam-stop": ("stop", CheckName.OFFLINE, {"not_found", "stream_ended"}),
    "cam-auth": ("auth", CheckName.OFFLINE, {"auth_failed"}),
    "cam-freeze": ("freeze", CheckName.FROZEN, {"identical_frames"}),
    "cam-black": ("black", CheckName.BLACK, {"dark_picture"}),
    "cam-blur": ("blur", CheckName.BLURRED, {"low_sharpness"}),
    "cam-cover": ("cover", CheckName.COVERED, {"lens_covered"}),
    "cam-moved": ("moved", CheckName.MOVED, {"view_shifted", "view_zoomed", "scene_changed"}),
    "cam-clock": ("clock", CheckName.CLOCK, {"clock_offset"}),
}
DEADLINE_S = 60.0


def _config(sim: CameraSimulator, tmp_path: Path) -> list[str]:
    cams = []
    for name in [*FAULTS, "cam-ok"]:
        if name == "cam-clock":
            device = sim.add_onvif_device(
                name, username="admin", password="pw", clip=CLIP, sub_stream=False
            )
            cams.append(
                f"{{id: {name}, name: 热菜间, onvif: {{host: 127.0.0.1, port: {device.port}, "
                "username: admin, password: pw}}"
            )
        elif name == "cam-auth":
            url = sim.add_camera(name, clip=CLIP, sub_stream=False, username="u", password="p")
            cams.append(
                f"{{id: {name}, name: 热菜间, rtsp_url: '{url}', rtsp_username: u, "
                "rtsp_password: p}"
            )
        else:
            url = sim.add_camera(name, clip=CLIP, sub_stream=False)
            cams.append(f"{{id: {name}, name: 热菜间, rtsp_url: '{url}'}}")
    return cams


def _problems(hub: Hub) -> dict[str, dict[CheckName, str]]:
    out: dict[str, dict[CheckName, str]] = {}
    for camera_id in hub.cameras:
        monitor = hub.health.monitor(camera_id)
        assert monitor is not None
        out[camera_id] = {c: p.reason for c, p in monitor.problems.items()}
    return out


def _apply(sim: CameraSimulator, camera: str, fault: str) -> None:
    if fault == "clock":
        sim.set_clock_offset(camera, 300)
    elif fault == "none" and FAULTS[camera][0] == "clock":
        sim.set_clock_offset(camera, 0)
    else:
        sim.set_fault(camera, Fault(fault))


async def test_every_fault_is_detected_and_cleared(
    no_lingering_tasks: None, simulator: CameraSimulator, tmp_path: Path
) -> None:
    path = write_config(tmp_path, _config(simulator, tmp_path), segment_seconds=5)
    path.write_text(path.read_text() + HEALTH, encoding="utf-8")
    hub = Hub(load_config(path))
    await hub.start()
    try:
        learned = lambda: all(  # noqa: E731
            m is not None and m.learned for m in map(hub.health.monitor, hub.cameras)
        )
        await eventually(learned, within=40, what="every camera's baselines learned")
        assert _problems(hub) == {c: {} for c in hub.cameras}, "false alarm on healthy cameras"

        for camera, (fault, _check, _reasons) in FAULTS.items():
            _apply(simulator, camera, fault)
        detected = await _wait_all(
            hub, lambda c, p: FAULTS[c][1] in p and p[FAULTS[c][1]] in FAULTS[c][2]
        )
        for camera in FAULTS:
            _apply(simulator, camera, "none")
        cleared = await _wait_all(hub, lambda c, p: FAULTS[c][1] not in p)
        await asyncio.sleep(2)  # anything raised late would show now
        assert _problems(hub)["cam-ok"] == {}
        stray = {c: p for c, p in _problems(hub).items() if p}
        assert not stray, f"problems left after every fault ended: {stray}"
    finally:
        await hub.stop()
    print("detected after", detected, "cleared after", cleared)

    await hub.db.start()
    try:
        async with hub.db.session() as s:
            rows = list(await s.scalars(select(HealthPeriod)))
            events = list(await s.scalars(select(Event).where(Event.kind == "health")))
    finally:
        await hub.db.stop()
    periods = {(r.camera_id, r.check) for r in rows if r.check != MONITORING}
    assert {(c, str(check)) for c, (_f, check, _r) in FAULTS.items()} <= periods
    assert all(r.ended_at is not None for r in rows)
    assert not [r for r in rows if r.camera_id == "cam-ok"]
    assert {e.camera_id for e in events} >= set(FAULTS)
    assert all(e.ended_at is not None for e in events)


async def _wait_all(hub: Hub, ok: Callable[[str, dict[CheckName, str]], bool]) -> dict[str, float]:
    """Seconds until `ok(camera, problems)` held for each faulted camera (fails past 60 s)."""
    start = time.monotonic()
    took: dict[str, float] = {}

    def check() -> bool:
        problems = _problems(hub)
        for camera in FAULTS:
            if camera not in took and ok(camera, problems[camera]):
                took[camera] = round(time.monotonic() - start, 1)
        return len(took) == len(FAULTS)

    try:
        await eventually(check, within=DEADLINE_S, what="every camera")
    except AssertionError:
        raise AssertionError(f"only {took} within {DEADLINE_S} s; now {_problems(hub)}") from None
    return took
