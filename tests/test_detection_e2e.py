"""Detection end to end: the camera simulator, a whole hub, the real ONNX model.

A rendered kitchen where a worker takes the hat off from 00:12 to 00:28 makes ONE
no_chef_hat event with an annotated snapshot and a copy-mode clip from 10 s before the onset
to 10 s after the event was raised. Beside it a broken camera (its picture shrinks from 720p
to 360p mid-stream, one keyframe is garbage, and a zero-sized frame comes in) only logs
errors for itself while the rest of the hub carries on.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from camera_adapters.simulator import MEDIA_DIR, CameraSimulator
from camera_adapters.simulator.h264_annexb import iter_nal_units, split_access_units
from detectors.scenes.scenario import Change, Scenario, WorkerScript
from detectors.scenes.scoring import wall_spans
from detectors.scenes.video import render_scenario
from hub.config import load_config
from hub.config.detector import DetectorConfig
from hub.runtime import Hub
from hub.sampling import SampledFrame
from storage.db.models import CameraStateChange, Event
from tests.hubconfig import write_config
from tests.waiting import eventually

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / DetectorConfig().model_path  # what the hub runs by default
CACHE = REPO / "data" / "scenarios"  # shared with bench/scenarios.py; rendered once
HAT_OFF = Scenario(
    "e2e-hat-off", duration_s=30, seed=11, room="hot_kitchen",
    description="one worker takes the hat off at 00:12 for 16 s",
    workers=(WorkerScript(path=((0.0, 0.5, 0.76),), changes=(Change(12, 16, hat="none"),)),),
)  # fmt: skip
EXTRA = f"""
detector: {{enabled: true, model_path: '{MODEL}'}}
detection: {{cooldown_s: 15}}
"""


def _broken_clip(path: Path) -> Path:
    """4 s of 720p (its second keyframe garbage), then 4 s of the same room at 360p."""
    big = split_access_units((MEDIA_DIR / "people-720p.h264").read_bytes())[:100]
    small = split_access_units((MEDIA_DIR / "people-360p.h264").read_bytes())[:100]
    keyframes = [i for i, u in enumerate(big) if u.keyframe]
    units = [u.data for u in big]
    bad = []
    for nal in iter_nal_units(units[keyframes[1]]):
        if nal[0] & 0x1F == 5:  # the IDR slice: header byte kept, the rest unreadable
            nal = nal[:1] + b"\xff" * (len(nal) - 1)
        bad.append(b"\x00\x00\x00\x01" + nal)
    units[keyframes[1]] = b"".join(bad)
    path.write_bytes(b"".join(units) + b"".join(u.data for u in small))
    return path


async def test_a_bare_head_is_one_event_and_a_broken_camera_only_logs(
    no_lingering_tasks: None,
    simulator: CameraSimulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if not MODEL.is_file():
        pytest.skip(f"no model at {MODEL}")
    clip = render_scenario(HAT_OFF, CACHE)
    hat_url = simulator.add_camera("cam-hat", clip=clip.path, sub_stream=False)
    bad_url = simulator.add_camera("cam-bad", clip=_broken_clip(tmp_path / "bad.h264"),
                                   sub_stream=False)  # fmt: skip
    cams = [
        f"{{id: cam-hat, name: 烹饪区, rtsp_url: '{hat_url}'}}",
        # Its footage has people without chef hats: only a cockroach rule, so it raises nothing.
        f"{{id: cam-bad, name: 库房, room: storage, rtsp_url: '{bad_url}', "
        "detection: {rules: [cockroach]}}",
    ]
    path = write_config(tmp_path, cams, recording=False)
    path.write_text(path.read_text() + EXTRA, encoding="utf-8")
    caplog.set_level(logging.INFO)
    hub = Hub(load_config(path))
    t0 = time.monotonic()
    await hub.start()
    try:
        assert hub.detection.status()["state"] == "running"

        async def events() -> list[Event]:
            async with hub.db.session() as s:
                return list(await s.scalars(select(Event).where(Event.kind == "violation")))

        async def clip_stored() -> bool:
            rows = await events()
            return bool(rows) and rows[0].clip_key is not None

        await eventually(clip_stored, within=60, what="the event's clip")
        raised_after = time.monotonic() - t0
        bad = hub.detection.cameras["cam-bad"]
        await eventually(lambda: bad.counters.resolution_changes >= 1, within=60,
                         what="cam-bad's resolution change")  # fmt: skip
        # A zero-sized frame: an error for this camera, nothing else.
        empty = np.zeros((0, 0, 3), np.uint8)
        frame = SampledFrame("cam-bad", time.time(), empty[:, :, 0], empty, (0, 0), picture=empty)
        assert await bad.process(frame) == []
        status = hub.detection.status()
        anchors = simulator.timeline("cam-hat")
        sampler = hub.health.sampler("cam-bad")
        decode_errors = 0 if sampler is None else sampler.decode_errors
    finally:
        await hub.stop()

    rows, online_from = await _events_after_stop(hub)
    assert [(r.camera_id, r.type) for r in rows] == [("cam-hat", "no_chef_hat")]
    event = rows[0]
    detail = json.loads(event.detail or "{}")
    onset = event.started_at.timestamp()
    raised = datetime.fromisoformat(detail["raised_at"]).timestamp()
    # When the hat was off on the wall clock, by the simulator's own timeline: every pass of the
    # clip and every jump in it (a loaded box makes its feeder skip ahead).
    spans = wall_spans("cam-hat", clip.truth, anchors, fps=clip.fps, frames=clip.frames)
    span = next((sp for sp in spans if onset <= sp.end), None)
    print(
        f"event raised {raised - onset:.1f} s after its first sighting, in the hat-off span "
        f"{span}, first seen {onset - span.start if span else float('nan'):+.1f} s from its "
        f"start; clip stored {raised_after:.0f} s after hub start; status {status['cameras']}"
    )
    # Latency and precision are bench/scenarios.py's to measure. Here: the one event was raised
    # while the hat was off, on any machine's speed. Its first sighting may come before: the
    # shipped model reads this hatted head as bare in some frames of 00:01-00:09 (scores
    # 0.49-0.66, whole frame), and the cooldown joins those to the real onset (issue 13).
    assert span is not None and onset <= raised <= span.end, (spans, onset, raised)
    assert event.snapshot_key is not None and event.clip_key is not None
    assert event.track_id is not None and event.track_id.startswith("person-")

    objects = tmp_path / "objects"
    picture = cv2.imread(str(objects / event.snapshot_key))
    assert picture is not None and picture.shape == (720, 1280, 3)
    span = detail["clip"]
    start = datetime.fromisoformat(span["start"]).timestamp()
    end = datetime.fromisoformat(span["end"]).timestamp()
    # 10 s before the onset, or all there was of it when the onset came sooner.
    assert start <= max(onset - 9, online_from + 2) and end >= raised + 9, (onset, raised, span)
    with av.open(str(objects / event.clip_key)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        packets = [p for p in container.demux(stream) if p.size]
        duration = float(Fraction(container.duration or 0, av.time_base))
    assert packets[0].is_keyframe and abs(duration - (end - start)) < 1.0

    bad_logs = [r.getMessage() for r in caplog.records
                if r.levelno >= logging.ERROR and "cam-bad" in r.getMessage()]  # fmt: skip
    assert any("resolution changed mid-stream from 1280x720 to 640x360" in m for m in bad_logs)
    assert any("unusable frame" in m for m in bad_logs)
    assert any("frame not decoded" in m for m in bad_logs)  # the garbage keyframe
    assert decode_errors > 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR
                and "cam-hat" in r.getMessage()]  # fmt: skip
    assert status["cameras"]["cam-bad"]["frames"] > 0  # it kept being judged


async def _events_after_stop(hub: Hub) -> tuple[list[Event], float]:
    """The violation events, and when cam-hat first came online (its first packets)."""
    await hub.db.start()
    try:
        async with hub.db.session() as s:
            events = list(await s.scalars(select(Event).where(Event.kind == "violation")))
            log = CameraStateChange
            online = (log.camera_id == "cam-hat") & (log.state == "online")
            first = await s.scalar(select(func.min(log.started_at)).where(online))
    finally:
        await hub.db.stop()
    assert first is not None, "cam-hat never came online"
    return events, first.timestamp()


async def test_a_model_that_cannot_load_is_logged_and_the_hub_runs_on(
    no_lingering_tasks: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    path = write_config(
        tmp_path, ["{id: cam-1, name: 烹饪区, rtsp_url: 'rtsp://127.0.0.1:9/none'}"],
        recording=False,
    )  # fmt: skip
    path.write_text(
        path.read_text() + f"detector: {{enabled: true, model_path: '{broken}'}}\n",
        encoding="utf-8",
    )
    hub = Hub(load_config(path))
    await hub.start()
    try:
        assert hub.detection.state == "failed" and hub.detection.error
        assert hub.detection.totals() == {"state": "failed"}
        assert hub.detection.backlog() is None  # health reports the detector not running
        assert "cam-1" in hub.cameras  # ingest, health and the rest carry on
    finally:
        await hub.stop()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("detection not running" in m and "broken.onnx" in m for m in errors), errors
