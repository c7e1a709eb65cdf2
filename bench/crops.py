"""Whole frame shrunk vs square crops: per-class recall of the runtime detector, and its speed.

    .venv/bin/python bench/crops.py [--scenes 100] [--model detectors/models/bkhub-yolo11n.onnx]
                                    [--backend onnxruntime] [--confidence 0.4] [--threads 2]

Renders held-out scenes (seeds from 1_000_000; training uses low seeds) at 1280x720 with
their ground-truth boxes and runs the model three ways on each:

  whole   the whole frame shrunk to the input size (letterboxed), as without a motion gate;
  motion  the crops the motion gate would make when the workers and pests move: a square of at
          least the input size around each moving thing (a worker's whole body, a pest), merged
          and capped at --max-regions like detectors.runtime.motion.regions_around does;
  tight   a square per labelled object (unlimited budget): the most crops can give.

plus `policy`, what the engine returns: the whole frame and the motion crops merged, each class
from the views DetectorConfig.crop_classes assigns it. Prints recall and precision at IoU 0.5
per class, views per scene, and model time per view at batch 1 and at batch 8. A class belongs
in crop_classes when `motion` finds clearly more of it than `whole`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.detection import CLASS_NAMES, Detection
from detectors.runtime import Backend, InferenceEngine, Region, load_backend
from detectors.runtime.motion import regions_around
from detectors.runtime.postprocess import Candidates, decode, merge_views, to_detections
from detectors.runtime.preprocess import letterbox_into
from detectors.scenes import Box, render_scene
from hub.config.detector import DetectorConfig

MODES = ("whole", "motion", "tight", "policy")
# What moves in a kitchen: workers as a whole (their parts move with them) and pests.
_MOVERS = ("person", "rat", "cockroach")
_IOU = 0.5


@dataclass
class Tally:
    """Ground truth found / total and detections right / total, per class."""

    gt: Counter[str] = field(default_factory=Counter)
    hit: Counter[str] = field(default_factory=Counter)
    det: Counter[str] = field(default_factory=Counter)
    true: Counter[str] = field(default_factory=Counter)

    def add(self, truth: Sequence[Box], found: Sequence[Detection]) -> None:
        used: set[int] = set()
        for d in sorted(found, key=lambda d: -d.score):
            self.det[d.cls] += 1
            best, best_iou = -1, _IOU
            for i, g in enumerate(truth):
                if i not in used and g.cls == d.cls and (o := _iou(d, g)) >= best_iou:
                    best, best_iou = i, o
            if best >= 0:
                used.add(best)
                self.true[d.cls] += 1
        for i, g in enumerate(truth):
            self.gt[g.cls] += 1
            self.hit[g.cls] += i in used

    def recall(self, cls: str) -> float:
        return self.hit[cls] / self.gt[cls] if self.gt[cls] else float("nan")

    def precision(self, cls: str) -> float:
        return self.true[cls] / self.det[cls] if self.det[cls] else float("nan")


def _iou(d: Detection, g: Box) -> float:
    w = max(0.0, min(d.x1, g.x1) - max(d.x0, g.x0))
    h = max(0.0, min(d.y1, g.y1) - max(d.y0, g.y0))
    inter = w * h
    union = d.area + (g.x1 - g.x0) * (g.y1 - g.y0) - inter
    return inter / union if union > 0 else 0.0


def _region(b: Box) -> Region:
    return Region(int(b.x0), int(b.y0), int(np.ceil(b.x1)), int(np.ceil(b.y1)))


def _run(backend: Backend, image: np.ndarray, views: Sequence[Region | None],
         confidence: float, iou: float) -> list[Candidates]:  # fmt: skip
    size = backend.input_size
    batch = np.empty((len(views), 3, size, size), np.float32)
    transforms = [letterbox_into(image, v, size, batch[i]) for i, v in enumerate(views)]
    out: list[Candidates] = []
    for start in range(0, len(views), 8):
        raw = backend.infer(batch[start : start + 8])
        out += [decode(r, transforms[start + k], confidence=confidence, iou=iou)
                for k, r in enumerate(raw)]  # fmt: skip
    return out


def _speed(backend: Backend, image: np.ndarray) -> dict[int, float]:
    """Median model ms per view at batch 1 and batch 8 (after one warm-up run each)."""
    size = backend.input_size
    batch = np.empty((8, 3, size, size), np.float32)
    for i in range(8):
        letterbox_into(image, Region(i * 120, 0, i * 120 + 400, 400), size, batch[i])
    result = {}
    for n, repeats in ((1, 24), (8, 6)):
        backend.infer(batch[:n])
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            backend.infer(batch[:n])
            times.append(time.perf_counter() - t0)
        result[n] = float(np.median(times)) * 1000 / n
    return result


async def _engine_rate(model: Path, backend: str, threads: int, image: np.ndarray,
                       *, max_batch: int, cameras: int, seconds: float) -> str:  # fmt: skip
    """Frames per second through the whole engine (letterbox, model, decode) under load."""
    engine = InferenceEngine(model, backend=backend, threads=threads, max_batch=max_batch,
                             max_wait_ms=20)  # fmt: skip
    await engine.start()
    deadline = time.perf_counter() + seconds

    async def camera(name: str) -> None:
        while time.perf_counter() < deadline:
            await engine.detect(name, image)

    try:
        t0 = time.perf_counter()
        await asyncio.gather(*(camera(f"cam-{i}") for i in range(cameras)))
        elapsed = time.perf_counter() - t0
    finally:
        await engine.stop()
    st = engine.stats()
    return (f"engine, max_batch {max_batch}, {cameras} cameras: "
            f"{sum(st.completed.values()) / elapsed:.1f} frames/s, mean batch {st.mean_batch:.1f}, "
            f"batch ms p50 {st.infer_ms_p50:.0f} / p95 {st.infer_ms_p95:.0f}")  # fmt: skip


def main() -> None:
    defaults = DetectorConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=1_000_000)
    parser.add_argument("--model", type=Path, default=Path(defaults.model_path))
    parser.add_argument("--backend", default=str(defaults.backend))
    parser.add_argument("--confidence", type=float, default=defaults.confidence)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    parser.add_argument("--max-regions", type=int, default=defaults.max_regions)
    parser.add_argument("--engine-seconds", type=float, default=8.0)
    args = parser.parse_args()

    backend = load_backend(args.backend, args.model, input_size=defaults.input_size,
                           threads=args.threads)  # fmt: skip
    size = backend.input_size
    crop_ids = {CLASS_NAMES.index(c) for c in defaults.crop_classes}
    only_ids = {CLASS_NAMES.index(c) for c in defaults.crop_only_classes}
    tallies = {mode: Tally() for mode in MODES}
    views_per_scene = Counter[str]()
    for k in range(args.scenes):
        scene = render_scene(args.first_seed + k, size=1280)
        h, w = scene.image.shape[:2]
        movers = [_region(b) for b in scene.boxes if b.cls in _MOVERS]
        motion = regions_around(movers, width=w, height=h, min_side=size,
                                max_regions=args.max_regions)  # fmt: skip
        tight = regions_around([_region(b) for b in scene.boxes], width=w, height=h,
                               min_side=size, max_regions=len(scene.boxes))  # fmt: skip
        views: list[Region | None] = [None, *motion, *tight]
        cands = _run(backend, scene.image, views, args.confidence, defaults.iou)
        whole, on_motion, on_tight = cands[0], cands[1 : 1 + len(motion)], cands[1 + len(motion) :]

        def merged(full: Candidates | None, crops: Sequence[Candidates],
                   regions: Sequence[Region]) -> list[Detection]:  # fmt: skip
            tagged: list[tuple[Candidates, Region | None]] = []
            if full is not None:
                tagged.append((full, None))
            tagged += zip(crops, regions, strict=True)
            return to_detections(merge_views(tagged, crop_classes=crop_ids, iou=defaults.iou,
                                             crop_only=only_ids))  # fmt: skip

        tallies["whole"].add(scene.boxes, to_detections(whole))
        tallies["motion"].add(scene.boxes, merged(None, on_motion, motion))
        tallies["tight"].add(scene.boxes, merged(None, on_tight, tight))
        tallies["policy"].add(scene.boxes, merged(whole, on_motion, motion))
        views_per_scene.update(motion=len(motion), tight=len(tight), policy=1 + len(motion))

    n = args.scenes
    print(f"{n} held-out scenes 1280x720 (seeds {args.first_seed}..{args.first_seed + n - 1}), "
          f"{args.model.name} via {backend.name}, {size} px input, confidence {args.confidence}, "
          f"IoU {_IOU}")  # fmt: skip
    print(
        f"views per scene: whole 1, motion {views_per_scene['motion'] / n:.2f}, "
        f"tight {views_per_scene['tight'] / n:.2f}, policy {views_per_scene['policy'] / n:.2f}"
    )
    print(f"{'class':<14}{'objects':>8}" + "".join(f"{m + ' R/P':>16}" for m in MODES))
    suggested = []
    for cls in CLASS_NAMES:
        cells = "".join(
            f"{tallies[m].recall(cls):>9.2f}/{tallies[m].precision(cls):<6.2f}" for m in MODES
        )
        print(f"{cls:<14}{tallies['whole'].gt[cls]:>8}{cells}")
        if tallies["motion"].recall(cls) > tallies["whole"].recall(cls) + 0.05:
            suggested.append(cls)
    print(f"crops find clearly more (recall +0.05) of: {', '.join(suggested) or 'nothing'}")
    print(f"configured crop_classes: {', '.join(defaults.crop_classes)}")
    image = render_scene(args.first_seed, size=1280).image
    for batch, ms in _speed(backend, image).items():
        print(f"model time, batch {batch}: {ms:.1f} ms per view ({1000 / ms:.0f} views/s, "
              f"{args.threads} threads)")  # fmt: skip
    for max_batch in (1, 8):
        print(asyncio.run(_engine_rate(args.model, args.backend, args.threads, image,
                                       max_batch=max_batch, cameras=8,
                                       seconds=args.engine_seconds)))  # fmt: skip


if __name__ == "__main__":
    main()
