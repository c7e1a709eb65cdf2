"""Real labelled photos through the hub's own detector path: per-class AP50, recall, precision.

    .venv/bin/python bench/realdata.py --data DIR [DIR ...] [--model M] [--grid 2]
                                       [--threads 1] [--json out.json]

DIR is a YOLO set in the project's class map: the output of `bkhub dataset build` (its val
split by default, `--split train`, or its `acceptance/` set) or any folder of images with
their labels in a parallel `labels/` folder or beside them. Each photo goes through the
hub's InferenceEngine as a camera sample does (letterbox, model, decode, merge_views with
the configured crop classes): the whole frame plus the square crops (>= the model's input)
of a `--grid` x `--grid` tiling, which is what the motion crops of a camera would give over
a few samples with the whole picture moving (the engine crops `crops_per_sample` of them per
sample, in turn). Per class it prints:

  images  photos showing it: with a box of it, or from a source whose every photo shows it
          unboxed (mapping `shown_unboxed`, e.g. the person in a face close-up)
  boxes   labelled boxes; AP50 (all-point interpolated, IoU 0.5) over the photos whose
          source boxes the class, from the detections down to --ap-confidence
  thr     the runtime threshold: detector.confidence, or the violation rule's
          min_confidence where the class is a rule's evidence (rat 0.7, cockroach 0.5,
          hand_bare 0.55)
  R, P    recall and precision at thr, IoU 0.5
  hit     share of its photos with at least one box of the class at thr (anywhere)

and false rat / cockroach boxes at thr per 100 photos with no pest. `--choose-thresholds` (on
a val split, never the acceptance set) also picks, per violation's evidence class, the score
that gives the best F1 there, pests only where false boxes stay <= 2 per 100 pest-free photos,
and prints them as `detection.types` min_confidence. A build's manifest says
which classes each source boxes; detections of other classes on its photos are not scored
(a hard-hat photo has people but no person boxes). Pests are taken as absent wherever they
are not boxed: none of the real sources shows one it does not label.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.datasets import MANIFEST, Skip, source_of
from detectors.datasets.scan import IMAGE_SUFFIXES
from detectors.datasets.yolo import read_yolo
from detectors.detection import Detection
from detectors.runtime import InferenceEngine, Region
from detectors.runtime.preprocess import square_around
from detectors.scenes.labels import CLASS_NAMES, Box
from hub.config.detection import DetectionConfig, ViolationType
from hub.config.detector import DetectorConfig
from hub.detection.evidence import FAMILY_TYPE, PEST_TYPE
from hub.detection.geometry import iou

REPO: Final = Path(__file__).resolve().parents[1]
PESTS: Final = ("rat", "cockroach")
_IOU: Final = 0.5
# AP needs the low-score tail; boxes at or above a runtime threshold come out the same at
# any lower decode confidence (NMS only lets a higher score suppress a lower one).
AP_CONFIDENCE: Final = 0.01


@dataclass(frozen=True, slots=True)
class Photo:
    image: Path
    boxes: tuple[Box, ...]
    boxed: frozenset[str]  # classes whose boxes are complete on this photo
    shown: frozenset[str]  # classes it shows: boxed here or shown unboxed


@dataclass
class ClassResult:
    name: str
    threshold: float
    images: int = 0
    boxes: int = 0
    ap50: float | None = None
    recall: float | None = None
    precision: float | None = None
    hit_rate: float | None = None


@dataclass
class Report:
    data: list[str]
    model: str
    images: int
    views_per_image: float
    view_ms: float
    classes: list[ClassResult] = field(default_factory=list)
    pest_free_images: int = 0
    false_per_100: dict[str, float | None] = field(default_factory=dict)


def average_precision(scores: Sequence[float], true: Sequence[bool], n_truth: int) -> float:
    """All-point interpolated AP: the area under the precision envelope over recall."""
    if n_truth == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    tp = np.asarray(true, np.float64)[order]
    hits = np.cumsum(tp)
    recall = np.concatenate([[0.0], hits / n_truth])
    precision = np.concatenate([[1.0], hits / np.arange(1, len(tp) + 1)])
    envelope = np.maximum.accumulate(precision[::-1])[::-1]  # best precision at >= recall
    return float(np.sum(np.diff(recall) * envelope[1:]))


# The class whose boxes are each violation's evidence.
EVIDENCE: Final[Mapping[str, ViolationType]] = {
    **{f"{family}_bare": t for family, t in FAMILY_TYPE.items()},
    **PEST_TYPE,
}
assert set(EVIDENCE) <= set(CLASS_NAMES), EVIDENCE


def runtime_thresholds(detector: DetectorConfig, detection: DetectionConfig) -> dict[str, float]:
    """Per class, the score a detection needs to count in the hub by default (as
    DetectionService._min_score: the rule's min_confidence, never below the detector's)."""
    out = {}
    for cls in CLASS_NAMES:
        rule = detection.type_rule(EVIDENCE[cls]) if cls in EVIDENCE else None
        own = rule.min_confidence if rule is not None else None
        out[cls] = max(detector.confidence, own or 0.0)
    return out


def grid_views(width: int, height: int, size: int, grid: int) -> list[Region | None]:
    """The whole frame and the distinct squares (>= size) around each cell of a grid x grid
    tiling; a photo no larger than `size` gets one crop: all of it, enlarged."""
    views: list[Region | None] = [None]
    for gy in range(grid):
        for gx in range(grid):
            cell = Region(width * gx // grid, height * gy // grid,
                          width * (gx + 1) // grid, height * (gy + 1) // grid)  # fmt: skip
            square = square_around(cell, size, width, height)
            if square not in views:
                views.append(square)
    return views


def _images(data: Path, split: str) -> list[Path]:
    root = data / "images" / split if (data / "images" / split).is_dir() else data
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _label_of(image: Path) -> Path:
    """Ultralytics' rule: the last /images/ of the path becomes /labels/; else beside it."""
    parts = image.parts
    if "images" in parts:
        k = len(parts) - 1 - parts[::-1].index("images")
        return Path(*parts[:k], "labels", *parts[k + 1 :]).with_suffix(".txt")
    return image.with_suffix(".txt")


def _scopes(data: Path) -> dict[str, dict[str, Any]]:
    """Per source of a build's manifest (in DIR or up to two folders above it)."""
    for folder in (data, data.parent, data.parent.parent):
        manifest = folder / MANIFEST
        if manifest.is_file():
            return dict(json.loads(manifest.read_text(encoding="utf-8")).get("sources", {}))
    return {}


def load_photos(data: Path, split: str = "val") -> tuple[list[Photo], list[str]]:
    """The labelled photos of a set, and one line per label file that could not be read."""
    scopes = _scopes(data)
    photos, problems = [], []
    everything = frozenset(CLASS_NAMES)
    for image in _images(data, split):
        label = _label_of(image)
        grey = cv2.imread(str(image), cv2.IMREAD_GRAYSCALE)
        try:
            if grey is None:
                raise Skip("broken image", "OpenCV cannot decode it")
            found = read_yolo(label, CLASS_NAMES) if label.is_file() else []
        except Skip as why:
            problems.append(f"skip {image}: {why}")
            continue
        h, w = grey.shape[:2]
        boxes = tuple(Box(b.name, b.x0 * w, b.y0 * h, b.x1 * w, b.y1 * h) for b in found)
        scope = scopes.get(source_of(image.name) or "")
        boxed = everything if scope is None else frozenset(scope["boxed_classes"]) | set(PESTS)
        unboxed = frozenset(scope["shown_unboxed"]) if scope else frozenset()
        photos.append(Photo(image, boxes, boxed, frozenset(b.cls for b in boxes) | unboxed))
    return photos, problems


def _matches(truth: Sequence[Box], found: Sequence[Detection]) -> list[bool]:
    """Per detection (best score first, as `found` is), whether it takes a labelled box:
    greedy, each box once, the highest IoU >= 0.5 of its class."""
    used: set[int] = set()
    out = []
    for d in found:
        best, best_iou = -1, _IOU
        for i, g in enumerate(truth):
            if i in used or g.cls != d.cls:
                continue
            o = iou((d.x0, d.y0, d.x1, d.y1), (g.x0, g.y0, g.x1, g.y1))
            if o >= best_iou:
                best, best_iou = i, o
        if best >= 0:
            used.add(best)
        out.append(best >= 0)
    return out


async def _detect_all(engine: InferenceEngine, photos: Sequence[Photo], size: int,
                      grid: int) -> tuple[list[list[Detection]], int]:  # fmt: skip
    results, views = [], 0
    for photo in photos:
        frame = np.asarray(cv2.imread(str(photo.image), cv2.IMREAD_COLOR), np.uint8)
        h, w = frame.shape[:2]
        regions = [r for r in grid_views(w, h, size, grid) if r is not None]
        views += 1 + len(regions)
        found = await engine.detect("bench", frame, regions, full_frame=True)
        results.append(found or [])
    return results, views


PestRates = dict[str, float | None]


def score(photos: Sequence[Photo], found: Sequence[Sequence[Detection]],
          thresholds: Mapping[str, float]) -> tuple[list[ClassResult], int, PestRates]:  # fmt: skip
    """Per-class results, the pest-free photo count and false pest boxes per 100 of them."""
    rows = {c: ClassResult(c, thresholds[c]) for c in CLASS_NAMES}
    scored: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    hits: dict[str, int] = defaultdict(int)
    pest_free, false = 0, dict.fromkeys(PESTS, 0)
    for photo, dets in zip(photos, found, strict=True):
        for d, ok in zip(dets, _matches(photo.boxes, dets), strict=True):
            if d.cls in photo.boxed:
                scored[d.cls].append((d.score, ok))
        for cls in photo.shown:
            rows[cls].images += 1
            hits[cls] += any(d.cls == cls and d.score >= thresholds[cls] for d in dets)
        for b in photo.boxes:
            rows[b.cls].boxes += 1
        if not any(b.cls in PESTS for b in photo.boxes):
            pest_free += 1
            for pest in PESTS:
                false[pest] += sum(d.cls == pest and d.score >= thresholds[pest] for d in dets)
    for cls, row in rows.items():
        pairs = scored[cls]
        if row.images:
            row.hit_rate = hits[cls] / row.images
        if row.boxes:
            row.ap50 = average_precision([s for s, _ in pairs], [t for _, t in pairs], row.boxes)
        above = [t for s, t in pairs if s >= row.threshold]
        if row.boxes:
            row.recall = sum(above) / row.boxes
        if above:
            row.precision = sum(above) / len(above)
    per_100 = {p: (100 * false[p] / pest_free if pest_free else None) for p in PESTS}
    return list(rows.values()), pest_free, per_100


def evaluate(data: Sequence[Path], *, model: Path, split: str = "val", grid: int = 2,
             threads: int = 1,
             ap_confidence: float = AP_CONFIDENCE,
             choose: bool = False) -> tuple[Report, list[str], dict[str, float]]:  # fmt: skip
    """Runs every labelled photo of `data` through the engine; the report, problem lines and
    (with `choose`) the thresholds choose_thresholds picks on these photos."""
    photos, problems = [], []
    for folder in data:
        more, bad = load_photos(folder, split)
        photos += more
        problems += bad
    defaults = DetectorConfig()
    update = {"model_path": model, "threads": threads, "confidence": ap_confidence,
              "max_wait_ms": 0}  # fmt: skip
    config = defaults.model_copy(update=update)
    engine = InferenceEngine.from_config(config)

    async def run() -> tuple[list[list[Detection]], int]:
        async with engine:
            return await _detect_all(engine, photos, config.input_size, grid)

    found, views = asyncio.run(run())
    thresholds = runtime_thresholds(defaults, DetectionConfig())
    rows, pest_free, per_100 = score(photos, found, thresholds)
    report = Report(
        data=[str(d) for d in data],
        model=str(model),
        images=len(photos),
        views_per_image=views / len(photos) if photos else 0.0,
        view_ms=engine.stats().view_ms_mean,
        classes=rows,
        pest_free_images=pest_free,
        false_per_100=per_100,
    )
    return report, problems, (choose_thresholds(photos, found, EVIDENCE) if choose else {})


# Candidate thresholds; the hub counts nothing below detector.confidence, so neither do these.
CANDIDATES: Final = tuple(round(0.4 + 0.05 * i, 2) for i in range(11))
MAX_FALSE_PESTS_PER_100: Final = 2.0


def choose_thresholds(photos: Sequence[Photo], found: Sequence[Sequence[Detection]],
                      evidence: Mapping[str, ViolationType]) -> dict[str, float]:  # fmt: skip
    """Per evidence class, the candidate with the best F1 on these photos (pests: among those
    with at most MAX_FALSE_PESTS_PER_100 false boxes; a class no photo boxes: the lowest such
    candidate); a class with no acceptable candidate gets the highest."""
    by_threshold = {t: score(photos, found, dict.fromkeys(CLASS_NAMES, t)) for t in CANDIDATES}
    chosen = {}
    for cls in evidence:
        best, best_f1 = CANDIDATES[-1], -1.0
        for t, (rows, _free, per_100) in by_threshold.items():
            if cls in PESTS and (per_100[cls] or 0.0) > MAX_FALSE_PESTS_PER_100:
                continue
            row = next(r for r in rows if r.name == cls)
            p, r = row.precision or 0.0, row.recall
            f1 = 0.0 if r is None else (2 * p * r / (p + r) if p + r else 0.0)
            if f1 > best_f1:
                best, best_f1 = t, f1
        chosen[cls] = best
    return chosen


def _cell(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.3f}"


def format_report(report: Report) -> str:
    """The table: one row per class any photo shows or any detection claims."""
    lines = [
        f"{report.images} photos from {', '.join(report.data)}; {Path(report.model).name}, "
        f"{report.views_per_image:.2f} views per photo (whole frame + grid crops), "
        f"{report.view_ms:.1f} ms model time per view",
        f"{'class':<14}{'images':>7}{'boxes':>7}{'AP50':>7}{'thr':>6}{'R':>7}{'P':>7}{'hit':>7}",
    ]
    for r in report.classes:
        if not r.images and r.precision is None:
            continue
        lines.append(f"{r.name:<14}{r.images:>7}{r.boxes:>7}{_cell(r.ap50, 7)}"
                     f"{r.threshold:>6.2f}{_cell(r.recall, 7)}{_cell(r.precision, 7)}"
                     f"{_cell(r.hit_rate, 7)}")  # fmt: skip
    for pest in PESTS:
        rate = report.false_per_100[pest]
        lines.append(f"false {pest} boxes per 100 pest-free photos: "
                     f"{'-' if rate is None else f'{rate:.1f}'} "
                     f"({report.pest_free_images} pest-free photos)")  # fmt: skip
    return "\n".join(lines)


def main(argv: Iterable[str] | None = None) -> int:
    defaults = DetectorConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--model", type=Path, default=REPO / defaults.model_path)
    parser.add_argument("--split", default="val", help="of a built set: val (default) or train")
    parser.add_argument("--grid", type=int, default=2, help="crops: grid x grid (0: none)")
    parser.add_argument("--threads", type=int, default=1, help="inference threads")
    parser.add_argument("--ap-confidence", type=float, default=AP_CONFIDENCE)
    parser.add_argument("--json", type=Path, help="also write the report as JSON")
    parser.add_argument("--choose-thresholds", action="store_true",
                        help="print per-type min_confidence chosen on these photos")  # fmt: skip
    args = parser.parse_args(None if argv is None else list(argv))
    t0 = time.monotonic()
    report, problems, chosen = evaluate(
        args.data,
        model=args.model,
        split=args.split,
        grid=args.grid,
        threads=args.threads,
        ap_confidence=args.ap_confidence,
        choose=args.choose_thresholds,
    )
    for line in problems:
        print(line, file=sys.stderr)
    print(format_report(report))
    if chosen:
        print("detection.types chosen on these photos (best F1; pests <= "
              f"{MAX_FALSE_PESTS_PER_100:g} false per 100 pest-free):")  # fmt: skip
        for cls, t in chosen.items():
            print(f"  {EVIDENCE[cls].value}: {{min_confidence: {t}}}   # {cls}")
    print(f"{time.monotonic() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=1) + "\n", encoding="utf-8")
    return 0 if report.images else 1


if __name__ == "__main__":
    raise SystemExit(main())
