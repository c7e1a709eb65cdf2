"""Issue 15 end to end: false alarms -> verdicts -> export -> fine-tune -> fewer false alarms.

Three kitchen cameras (the camera simulator, real RTSP) look at a floor with a rat-sized dark
shadow under the counter, which the shipped model takes for a rat: they raise false rat events.
A principal marks each 误报 through the API; `bkhub dataset export` makes a YOLO set of those
frames; `bkhub train` fine-tunes the shipped weights on it mixed with rendered scenes (a few
epochs on the CPU); `bkhub export` makes the ONNX model and `bkhub evaluate` compares it with
the running one on the held-out verdicts; the hub restarts with the new weights
(`detector.model_path`) and the same cameras are judged as many samples again. Printed:
false events before and after, and rendered real rats found by both models.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import cv2
import numpy as np
import pytest
import yaml
from sqlalchemy import select

from camera_adapters.simulator import CameraSimulator
from detectors.runtime import InferenceEngine
from detectors.scenes import render_scene
from detectors.scenes.backgrounds import render_background
from hub.config import HubConfig, load_config
from hub.config.detector import DetectorConfig
from storage.db.models import Event
from tests.hubconfig import write_config
from tests.waiting import eventually
from tests.webapp import WebApp, add_user, serve_app, session_headers
from web.auth import Role

pytestmark = pytest.mark.slow
pytest.importorskip("ultralytics", reason="the [train] extra is not installed")

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / DetectorConfig().model_path
BKHUB = [sys.executable, "-m", "hub.cli"]
# Backgrounds where the shipped model scores the shadow as a rat at 0.76-0.87 (whole frame).
SEEDS = (3, 4, 5)
NOISE = 2.0  # sensor noise, grey levels
SAMPLES = 20  # judged samples per camera in each run


def _lookalike(seed: int) -> np.ndarray:
    """A rendered kitchen with a dark rat-sized shadow on the floor (no pest in it)."""
    rng = np.random.default_rng(seed)
    image, layout = render_background(rng, 1280, 720)
    image = np.ascontiguousarray(image)
    y = int(layout.floor_top + (720 - layout.floor_top) * 0.6)
    x = 300 + seed * 15
    cv2.ellipse(image, (x, y), (60, 22), 10, 0, 360, (25, 25, 28), -1, cv2.LINE_AA)
    cv2.circle(image, (x + 55, y - 8), 14, (25, 25, 28), -1, cv2.LINE_AA)
    return image


def _clip(path: Path, image: np.ndarray, seconds: int = 6) -> Path:
    """Raw H.264 (what the simulator serves) of the picture with a little sensor noise."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"g": "25", "bf": "0", "preset": "ultrafast"}
        # One slice per picture: the simulator serves a multi-slice picture as several.
        stream.codec_context.thread_count = 1
        for _ in range(seconds * 25):
            noisy = np.clip(image + rng.normal(0, NOISE, image.shape), 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(noisy, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _config(tmp: Path, sim: CameraSimulator, model: Path) -> HubConfig:
    cams = [
        f"{{id: cam-{s}, name: 后厨{s}, rtsp_url: '{sim.main_url(f'cam-{s}')}'}}" for s in SEEDS
    ]
    path = write_config(tmp, cams, recording=False)
    extra = f"\ndetector: {{enabled: true, model_path: '{model}'}}\n"
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return load_config(path)


async def _run_hub(config: HubConfig, since: datetime, *, verdict: bool) -> list[str]:
    """Run the hub until each camera judged SAMPLES samples; the rat events it raised since
    `since`, each marked 误报 by the principal when `verdict`."""
    async with serve_app(config) as web:
        detection = web.hub.detection
        start = {c: 0 for c in detection.cameras}

        def judged() -> bool:
            frames = {c: d.counters.frames for c, d in detection.cameras.items()}
            return all(frames[c] - start[c] >= SAMPLES for c in frames)

        await eventually(lambda: all(d.counters.frames > 0 for d in detection.cameras.values()),
                         within=120, what="every camera judged")  # fmt: skip
        start = {c: d.counters.frames for c, d in detection.cameras.items()}
        await eventually(judged, within=300, what=f"{SAMPLES} more samples per camera")

        async def events() -> list[Event]:
            async with web.hub.db.session() as s:
                query = select(Event).where(Event.type == "rat", Event.started_at >= since)
                return list(await s.scalars(query))

        rows = await events()
        if verdict:
            await eventually(lambda: _framed(web, rows), within=60, what="event frames stored")
            user = await add_user(web.auth, "principal", Role.SCHOOL_PRINCIPAL, "school:s1")
            headers = await session_headers(web.auth, user)
            for row in rows:
                body = {"kind": "false_alarm", "reason": "wrong_object", "note": "地上的阴影"}
                r = await web.client.post(f"/api/events/{row.id}/verdict", json=body,
                                          headers=headers)  # fmt: skip
                assert r.status_code == 201 and r.json()["has_hard_example"], r.text
        return [row.camera_id or "" for row in rows]


async def _framed(web: WebApp, rows: list[Event]) -> bool:
    async with web.hub.db.session() as s:
        keys = [await s.scalar(select(Event.frame_key).where(Event.id == r.id)) for r in rows]
    return all(keys)


def _bkhub(*args: str, timeout: float = 900) -> str:
    done = subprocess.run([*BKHUB, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


async def _rats_found(model: Path) -> tuple[int, int]:
    """Rendered scenes with a real (drawn) rat the model finds at >= 0.5, of how many."""
    engine = InferenceEngine(model, confidence=0.3)
    await engine.start()
    found = total = 0
    try:
        for seed in range(9000, 9400):
            scene = render_scene(seed, size=1280)
            if not any(b.cls == "rat" for b in scene.boxes):
                continue
            dets = await engine.detect("rats", scene.image, full_frame=True) or []
            found += any(d.cls == "rat" and d.score >= 0.5 for d in dets)
            total += 1
            if total == 25:
                break
    finally:
        await engine.stop()
    return found, total


async def test_verdicts_fine_tune_the_detector_to_raise_fewer_false_alarms(
    tmp_path: Path, simulator: CameraSimulator
) -> None:
    for seed in SEEDS:
        clip = _clip(tmp_path / f"{seed}.h264", _lookalike(seed))
        simulator.add_camera(f"cam-{seed}", clip=clip, sub_stream=False)
    hub_dir = tmp_path / "hub"
    hub_dir.mkdir()
    before_at = datetime.now(UTC)
    before = await _run_hub(_config(hub_dir, simulator, SHIPPED), before_at, verdict=True)
    assert len(before) >= 2, f"the shipped model raised {before}: the look-alike no longer fools it"

    export = tmp_path / "verdicts"
    day = before_at.astimezone(ZoneInfo("Asia/Shanghai")).date()
    since, until = day - timedelta(days=1), day + timedelta(days=1)
    out = _bkhub("-c", str(hub_dir / "config.yaml"), "dataset", "export", "--out", str(export),
                 "--from", str(since), "--to", str(until))  # fmt: skip
    words = out.split()
    train, val = int(words[1]), int(words[4])  # "wrote T train and V val images ..."
    assert train + val == len(before) and train >= 1 and val >= 1, out
    train_config = yaml.safe_load((REPO / "detectors" / "finetune.yaml").read_text())
    # Short enough for the suite (about a minute on 2 cores); the shipped settings train longer.
    train_config.update(model=str(REPO / "detectors/models/bkhub-yolo11n.pt"), mix_scenes=60,
                        epochs=3, cache=False)  # fmt: skip
    (tmp_path / "finetune.yaml").write_text(yaml.safe_dump(train_config))
    trained = _bkhub("train", "--data", str(export / "data.yaml"), "--train-config",
                     str(tmp_path / "finetune.yaml"), "--out", str(tmp_path / "run"))  # fmt: skip
    best = Path(trained.strip().splitlines()[-1].removeprefix("best weights: "))
    tuned = tmp_path / "tuned.onnx"
    _bkhub("export", "--weights", str(best), "--out", str(tuned), "--imgsz", "320")
    compared = _bkhub("-c", str(hub_dir / "config.yaml"), "evaluate", "--weights", str(tuned),
                      "--verdicts", str(export))  # fmt: skip
    print(compared)
    running, new = (line for line in compared.splitlines() if line.startswith("/"))
    assert str(SHIPPED) in running and str(tuned) in new

    after_at = datetime.now(UTC)  # the restart: the same cameras, the new weights
    config = _config(hub_dir, simulator, tuned)
    after = await _run_hub(config, after_at, verdict=False)
    rats = {m.name: await _rats_found(m) for m in (SHIPPED, tuned)}
    print(f"false rat events on the look-alike cameras, {SAMPLES} samples each: "
          f"before {len(before)} {sorted(before)}, after fine-tuning {len(after)} {sorted(after)}; "
          f"rendered real rats found (>= 0.5): {rats}")  # fmt: skip
    assert len(after) < len(before)
    # The held-out verdict says the same: the new weights raise fewer of its false alarms.
    raised = [int(line.split()[1]) for line in (running, new)]
    assert raised[1] <= raised[0]
