"""Scenario clips: a script rendered to H.264 the camera simulator serves, with its ground truth.

The kitchen is drawn once per scenario; each frame copies it, draws the moving actors (the same
worker in the same clothes all along, swaying and working their arms; pests crossing), applies
the scenario's fixed lighting (day) or IR look (night) to what was drawn, adds fresh sensor
noise and goes to libx264. Output: 1280x720, 25 fps, a closed 1 s GOP with SPS/PPS before every
IDR, as the simulator's own clips (make_media), one x264 thread: byte-identical run to run.

Clips are cached in a folder keyed by a hash of the script and of the renderer's settings:

    clip = render_scenario(CATALOGUE["hat-off"], cache_dir)   # clip.path, clip.truth
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from detectors.scenes.backgrounds import render_background
from detectors.scenes.labels import Box
from detectors.scenes.people import Worker, draw_worker, random_worker
from detectors.scenes.pests import draw_cockroach, draw_rat
from detectors.scenes.scenario import Scenario, Violation, WorkerScript, ground_truth

__all__ = ["FPS", "GOP_FRAMES", "ScenarioClip", "footage_clip", "iter_frames", "render_scenario"]

Image = np.ndarray

WIDTH, HEIGHT = 1280, 720
FPS = 25
GOP_FRAMES = FPS  # a keyframe every second: the detector samples keyframes
BITRATE = 1_500_000  # what make_media gives its 720p clips, a typical canteen camera's
FOOTAGE_BITRATE = 1_000_000
# Bump when the drawing (or the footage conversion) changes: cached clips of the old look are
# then not reused.
RENDER_VERSION = 4
FOOTAGE_VERSION = 1
_NOISE_PLANES = 8  # sensor noise: frames pick one of a few pre-drawn planes (cheap, still lively)
_PAD = 4  # pixels around an actor's boxes that antialiased edges may touch
# Seconds per period of the working motion (arms, lean) and the sway; periods divide the clip's
# duration, so the loop seam shows no jump.
_ARM_PERIOD_S, _SWAY_PERIOD_S = 2.5, 6.0
# x264's veryfast encodes 720p in ~9 ms a frame, a third of medium's time, at the same bitrate.
PRESET = "veryfast"
_PEST_LENGTH = {"rat": 0.05, "cockroach": 0.014}  # default body length, fraction of the width


@dataclass(frozen=True, slots=True)
class ScenarioClip:
    """A rendered scenario: the raw H.264 clip, its ground truth and per-frame boxes."""

    scenario: Scenario
    path: Path
    truth: tuple[Violation, ...]
    boxes_path: Path  # JSON lines: per frame, [[class, x0, y0, x1, y1], ...]
    frames: int
    fps: int = FPS


class _Stage:
    """What stays fixed through a scenario: the kitchen, the light, the cast, the noise."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        rng = np.random.default_rng(scenario.seed)
        self.raw, self.layout = render_background(rng, WIDTH, HEIGHT)
        self.night = scenario.night
        if self.night:  # IR LEDs light the middle; the picture is grey
            yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
            r2 = ((xx - WIDTH / 2) / WIDTH) ** 2 + ((yy - HEIGHT / 2) / HEIGHT) ** 2
            strength = float(rng.uniform(2, 4))
            self.gain = np.exp(-r2 * strength) * float(rng.uniform(0.75, 1.0))
            sigma = float(rng.uniform(4, 7))
        else:  # uneven fluorescent light, a slight white-balance tint
            gx = np.linspace(rng.uniform(0.75, 1.1), rng.uniform(0.75, 1.1), WIDTH)
            gy = np.linspace(rng.uniform(0.9, 1.1), rng.uniform(0.8, 1.0), HEIGHT)
            tint = rng.uniform(0.95, 1.05, size=3) * rng.uniform(0.85, 1.05)
            self.gain = np.outer(gy, gx)[..., None] * tint[None, None, :]
            sigma = float(rng.uniform(1.5, 3.0))
        self.gain = self.gain.astype(np.float32)
        self.lit = self._light(self.raw, slice(0, HEIGHT), slice(0, WIDTH))
        self.noise = [
            np.round(rng.normal(0, sigma, (HEIGHT, WIDTH))).astype(np.int16)
            for _ in range(_NOISE_PLANES)
        ]
        self.frame_rng = np.random.default_rng([scenario.seed, 1])
        self.cast = [
            _cast(np.random.default_rng([scenario.seed, 100 + i]), w)
            for i, w in enumerate(scenario.workers)
        ]
        self.pest_seeds = [
            _heading_seed(p.kind, _heading(p.start, p.end), 1000 * (j + 1))
            for j, p in enumerate(scenario.pests)
        ]

    def _light(self, region: Image, ys: slice, xs: slice) -> Image:
        if self.night:
            gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY).astype(np.float32)
            lit = np.clip(gray * self.gain[ys, xs], 0, 255).astype(np.uint8)
            return np.asarray(cv2.cvtColor(lit, cv2.COLOR_GRAY2BGR))
        return np.asarray(np.clip(region * self.gain[ys, xs], 0, 255), dtype=np.uint8)

    def frame(self, n: int) -> tuple[Image, list[Box]]:
        """Frame n as I420 planes (height * 3 / 2 rows) and the boxes of what it shows."""
        t = n / FPS
        canvas, out = self.raw.copy(), self.lit.copy()
        drawn: list[list[Box]] = []
        actors = sorted(
            zip(self.scenario.workers, self.cast, strict=True),
            key=lambda a: a[0].position(t)[1],  # far ones first
        )
        for script, base in actors:
            drawn.append(self._worker(canvas, script, base, t))
        for pest, seed in zip(self.scenario.pests, self.pest_seeds, strict=True):
            if pest.visible(t):
                x, y = pest.position(t)
                size = WIDTH * (pest.size or _PEST_LENGTH[pest.kind]) * (0.6 + 0.6 * y)
                draw = draw_rat if pest.kind == "rat" else draw_cockroach
                rng = np.random.default_rng(seed)  # the same look and heading in every frame
                drawn.append([draw(canvas, rng, x * WIDTH, y * HEIGHT, size)])
        for boxes in drawn:  # light what was drawn the way the kitchen around it is lit
            if not boxes:
                continue
            # Thick limbs and feet reach past the part boxes by up to ~5 % of a figure's height.
            pad = _PAD + int(0.06 * max(b.y1 - b.y0 for b in boxes))
            x0 = max(0, int(min(b.x0 for b in boxes)) - pad)
            y0 = max(0, int(min(b.y0 for b in boxes)) - pad)
            x1 = min(WIDTH, int(max(b.x1 for b in boxes)) + pad)
            y1 = min(HEIGHT, int(max(b.y1 for b in boxes)) + pad)
            if x1 > x0 and y1 > y0:
                ys, xs = slice(y0, y1), slice(x0, x1)
                out[ys, xs] = self._light(canvas[ys, xs], ys, xs)
        yuv = cv2.cvtColor(out, cv2.COLOR_BGR2YUV_I420)
        luma = yuv[:HEIGHT].astype(np.int16)
        luma += self.noise[int(self.frame_rng.integers(_NOISE_PLANES))]
        yuv[:HEIGHT] = np.clip(luma, 0, 255).astype(np.uint8)
        boxes = [c for group in drawn for b in group if (c := b.clipped(WIDTH, HEIGHT))]
        return np.asarray(yuv), boxes

    def _worker(self, img: Image, script: WorkerScript, base: Worker, t: float) -> list[Box]:
        duration = self.scenario.duration_s
        x, y = script.position(t)
        phase = (base.lean + 0.12) * 20  # per worker, so the cast does not move in step
        x += script.sway * math.sin(_omega(duration, _SWAY_PERIOD_S) * t + phase)
        hat, mask, gloves = script.outfit(t)
        arm = _omega(duration, _ARM_PERIOD_S) * t + phase
        angles = tuple(a + 0.22 * math.sin(arm + k * 1.3) for k, a in enumerate(base.arm_angles))
        worker = dataclasses.replace(
            base,
            height=script.height_at(y) * HEIGHT,
            hat=hat,
            mask=mask,
            gloves=gloves,
            arm_angles=angles,  # type: ignore[arg-type]  # four floats, as the field says
            lean=base.lean * 0.5 + 0.04 * math.sin(arm * 0.5),
        )
        return draw_worker(img, worker, x * WIDTH, y * HEIGHT)


def _cast(rng: np.random.Generator, script: WorkerScript) -> Worker:
    """The worker's looks (skin, clothes, pose), fixed for the whole clip; facing the camera."""
    worker = random_worker(rng, HEIGHT * 0.6)
    return dataclasses.replace(worker, facing_front=True)


def _omega(duration: float, period: float) -> float:
    """Angular speed of a motion near ``period`` seconds that repeats exactly over the clip."""
    return 2 * math.pi * max(1, round(duration / period)) / duration


def _heading(start: tuple[float, float], end: tuple[float, float]) -> float:
    return math.atan2((end[1] - start[1]) * HEIGHT, (end[0] - start[0]) * WIDTH)


def _heading_seed(kind: str, heading: float, first: int) -> int:
    """A seed under which pests.py draws the pest facing ``heading`` (or near it).

    Mirrors the first random draws of draw_rat / draw_cockroach, which pick the heading; if they
    change, only the look suffers (a pest running sideways), never the ground truth.
    """
    best, best_diff = first, math.inf
    for seed in range(first, first + 256):
        rng = np.random.default_rng(seed)
        if kind == "rat":
            angle = float(rng.uniform(-0.5, 0.5)) + (math.pi if rng.random() < 0.5 else 0.0)
        else:
            angle = float(rng.uniform(0, 2 * math.pi))
        diff = abs((angle - heading + math.pi) % (2 * math.pi) - math.pi)
        if diff < best_diff:
            best, best_diff = seed, diff
    return best


def iter_frames(scenario: Scenario) -> Iterator[tuple[Image, list[Box]]]:
    """The scenario's frames as I420 planes, with the boxes each one shows."""
    stage = _Stage(scenario)
    for n in range(scenario.duration_s * FPS):
        yield stage.frame(n)


def render_scenario(scenario: Scenario, cache_dir: Path) -> ScenarioClip:
    """The scenario's clip and ground truth, rendered once per script into ``cache_dir``.

    The ground truth is computed afresh from the script (it is cheap, and a fix to it must not
    wait for a new render); the JSON beside the clip is a record for people.
    """
    key = scenario.key(RENDER_VERSION, WIDTH, HEIGHT, FPS, GOP_FRAMES, BITRATE)
    stem = cache_dir / f"{scenario.name}-{key}"
    clip, record, boxes_path = (Path(f"{stem}{s}") for s in (".h264", ".json", ".boxes.jsonl"))
    truth = tuple(ground_truth(scenario, FPS))
    if not (clip.is_file() and boxes_path.is_file()):
        cache_dir.mkdir(parents=True, exist_ok=True)
        lines: list[str] = []

        def video() -> Iterator[av.VideoFrame]:
            for planes, boxes in iter_frames(scenario):
                rows = [[b.cls, *(round(v, 1) for v in (b.x0, b.y0, b.x1, b.y1))] for b in boxes]
                lines.append(json.dumps(rows))
                yield av.VideoFrame.from_ndarray(planes, format="yuv420p")

        _write(clip, lambda part: _encode(video(), part, WIDTH, HEIGHT, BITRATE))
        _write(boxes_path, lambda part: part.write_text("\n".join(lines) + "\n"))
        _prune(cache_dir, scenario.name, key)
    text = json.dumps(
        {"scenario": scenario.to_dict(), "truth": [dataclasses.asdict(v) for v in truth]},
        indent=1,
    )
    if not record.is_file() or record.read_text() != text:
        _write(record, lambda part: part.write_text(text))
    return ScenarioClip(scenario, clip, truth, boxes_path, scenario.duration_s * FPS)


def _encode(
    frames: Iterator[av.VideoFrame], out: Path, width: int, height: int, bitrate: int
) -> int:
    """The simulator's clip layout (make_media.encode_clip) at this module's rate, GOP, preset."""
    from camera_adapters.simulator.make_media import encode_clip

    return encode_clip(frames, out, width=width, height=height, bitrate=bitrate, fps=FPS,
                       gop=GOP_FRAMES, preset=PRESET)  # fmt: skip


def _prune(cache_dir: Path, name: str, key: str) -> None:
    """Drop the scenario's clips of older scripts or renderers: each is megabytes."""
    stale = re.compile(rf"{re.escape(name)}-(?!{key})[0-9a-f]{{16}}\.(h264|json|boxes\.jsonl)")
    for path in cache_dir.iterdir():
        if stale.fullmatch(path.name):
            path.unlink(missing_ok=True)


def _write(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a .part file renamed into place: a killed render leaves no half clip."""
    part = Path(f"{path}.{os.getpid()}.part")
    try:
        write(part)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def footage_clip(source: Path, cache_dir: Path) -> Path:
    """A video file as a simulator clip at its own size: 25 fps, 1 s GOP, whole seconds."""
    # Imported here: the simulator package (ONVIF stand-in and all) is no import-time cost of
    # detectors.scenes.
    from camera_adapters.simulator.make_media import resampled_frames

    stat = source.stat()
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        seconds = int(float(container.duration or 0) / av.time_base)
    if seconds < 1:
        raise ValueError(f"{source} is shorter than a second")
    name = f"{source.stem}-{width}x{height}-{stat.st_size}-v{FOOTAGE_VERSION}.h264"
    clip = cache_dir / name
    if not clip.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        frames = resampled_frames(
            source, start_s=0.0, seconds=seconds, width=width, height=height, fps=FPS
        )
        _write(clip, lambda part: _encode(frames, part, width, height, FOOTAGE_BITRATE))
    return clip
