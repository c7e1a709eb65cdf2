"""New weights against the running ones on the held-out verdicts, before a user switches.

On the val side of a verdict export (bkhub dataset export): how many false alarms each model
would still raise (a detection of the class the violation type is seen as, at or above the
threshold, anywhere on the frame), and how many of the confirmed and missed boxes it finds (a
detection of the box's class overlapping it by IoU >= 0.3). Both models run on the hub's own
runtime engine (ONNX Runtime on the whole frame), as they would on the cameras.
"""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np

from detectors.datasets.yolo import read_yolo
from detectors.detection import CLASS_NAMES
from detectors.runtime import InferenceEngine
from hub.config.detection import ViolationType
from hub.detection.evidence import TYPE_CLASS
from hub.detection.geometry import Box, box_of, iou

__all__ = ["VerdictScore", "score_verdicts"]

_FOUND_IOU: Final = 0.3


@dataclass(frozen=True, slots=True)
class VerdictScore:
    false_alarms: int  # false-alarm frames the model still fires on
    negatives: int
    boxes_found: int  # confirmed and missed boxes it finds
    boxes: int


def _labels(path: Path, width: int, height: int) -> list[tuple[str, Box]]:
    """The label file's boxes in pixels of the image."""
    return [(b.name, (b.x0 * width, b.y0 * height, b.x1 * width, b.y1 * height))
            for b in read_yolo(path, CLASS_NAMES)]  # fmt: skip


async def score_verdicts(
    model: Path, export: Path, *, side: str = "val", confidence: float = 0.5
) -> VerdictScore:
    """The model's score on one side of the verdict export in folder `export`."""
    with (export / "manifest.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == side]
    engine = InferenceEngine(model, confidence=confidence)
    await engine.start()
    false_alarms = negatives = found = boxes = 0
    try:
        for row in rows:
            image = await asyncio.to_thread(cv2.imread, str(export / row["image"]))
            if image is None:
                continue
            labels = _labels(export / Path(row["image"].replace("images/", "labels/", 1))
                             .with_suffix(".txt"), image.shape[1], image.shape[0])  # fmt: skip
            frame = np.asarray(image, dtype=np.uint8)
            dets = await engine.detect("verdicts", frame, full_frame=True) or []
            if not labels:
                negatives += 1
                shown_as = TYPE_CLASS[ViolationType(row["type"])]
                false_alarms += any(d.cls == shown_as for d in dets)
            for cls, box in labels:
                boxes += 1
                found += any(d.cls == cls and iou(box_of(d), box) >= _FOUND_IOU for d in dets)
    finally:
        await engine.stop()
    return VerdictScore(false_alarms, negatives, found, boxes)
