"""From the model's raw head output to detections in frame pixels (vectorised numpy).

The export has no NMS inside: per view, candidates above the confidence are decoded, mapped
back to the frame and thinned by class-wise NMS. A sample's views (whole frame and crops)
are then merged: crops speak for the small classes where they look, the whole frame for the
rest, and a second NMS removes the duplicates of an object that two views both saw.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detectors.detection import CLASS_NAMES, Detection
from detectors.runtime.preprocess import Region, ViewTransform

__all__ = ["Candidates", "decode", "merge_views", "nms", "to_detections"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
# Per view, at most this many candidates go into NMS (highest scores first): bounds its cost
# on a view full of low-confidence clutter.
_MAX_CANDIDATES = 1000


@dataclass(frozen=True, slots=True)
class Candidates:
    """Boxes K x 4 (x0, y0, x1, y1, frame pixels), their scores and class indices."""

    boxes: F32
    scores: F32
    classes: I64

    @staticmethod
    def empty() -> Candidates:
        return Candidates(np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                          np.zeros(0, np.int64))  # fmt: skip

    def __len__(self) -> int:
        return len(self.scores)

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Candidates:
        return Candidates(self.boxes[index], self.scores[index], self.classes[index])

    @staticmethod
    def concat(parts: Sequence[Candidates]) -> Candidates:
        if not parts:
            return Candidates.empty()
        return Candidates(
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.classes for p in parts]),
        )


def nms(c: Candidates, iou: float) -> npt.NDArray[np.intp]:
    """Indices of the boxes greedy class-wise NMS keeps, best score first."""
    if len(c) == 0:
        return np.zeros(0, np.intp)
    # Shifting each class to its own coordinate range makes one NMS pass class-wise.
    span = float(c.boxes.max() - c.boxes.min()) + 1.0
    offset = (c.classes.astype(np.float32) * span)[:, None]
    boxes = c.boxes + offset
    x0, y0, x1, y1 = boxes.T
    areas = np.maximum(0.0, x1 - x0) * np.maximum(0.0, y1 - y0)
    order = np.argsort(-c.scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]))
        h = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]))
        inter = w * h
        overlap = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[overlap <= iou]
    return np.asarray(keep, np.intp)


def decode(raw: F32, transform: ViewTransform, *, confidence: float, iou: float) -> Candidates:
    """One view's raw output (4 + classes) x anchors to NMS-thinned candidates in frame pixels."""
    scores_all = raw[4:]
    classes = np.argmax(scores_all, axis=0)
    scores = scores_all[classes, np.arange(scores_all.shape[1])]
    keep = np.flatnonzero(scores >= confidence)
    if keep.size > _MAX_CANDIDATES:
        keep = keep[np.argsort(-scores[keep], kind="stable")[:_MAX_CANDIDATES]]
    cx, cy, w, h = raw[0, keep], raw[1, keep], raw[2, keep], raw[3, keep]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    c = Candidates(transform.to_frame(boxes), scores[keep].astype(np.float32),
                   classes[keep].astype(np.int64))  # fmt: skip
    # Boxes that lie wholly in the padding shrink to nothing once clipped to the view.
    visible = (c.boxes[:, 2] > c.boxes[:, 0]) & (c.boxes[:, 3] > c.boxes[:, 1])
    c = c.take(visible)
    return c.take(nms(c, iou))


def merge_views(
    views: Sequence[tuple[Candidates, Region | None]],
    *,
    crop_classes: Collection[int],
    iou: float,
    crop_only: Collection[int] = (),
) -> Candidates:
    """One sample's views, (candidates, region or None for the whole frame), merged.

    With both kinds of view, the crops speak for `crop_classes` where they look, and the
    whole frame for the other classes and for everything outside the crops:
    - a crop keeps its detections of crop classes only (crops cut people in half);
    - the whole frame keeps its other classes, and its crop classes whose centre lies
      outside every crop (a still object away from the motion is still reported).
    With one kind of view, every class comes from it. Either way the whole frame never
    reports `crop_only` classes: shrunk to the model's input they are too small to tell apart
    (a gloved hand from a bare one), and a guess there is worse than no answer. A last NMS
    removes duplicates.
    """
    crops = [r for _, r in views if r is not None]
    has_full = len(crops) < len(views)
    crop_ids = np.fromiter(crop_classes, np.int64)
    only_ids = np.fromiter(crop_only, np.int64)
    parts = []
    for cands, region in views:
        if region is None and len(only_ids):
            cands = cands.take(~np.isin(cands.classes, only_ids))
        if crops and has_full:
            is_crop_class = np.isin(cands.classes, crop_ids)
            if region is not None:
                cands = cands.take(is_crop_class)
            else:
                cx = (cands.boxes[:, 0] + cands.boxes[:, 2]) / 2
                cy = (cands.boxes[:, 1] + cands.boxes[:, 3]) / 2
                seen = np.zeros(len(cands), np.bool_)
                for r in crops:
                    seen |= (cx >= r.x0) & (cx < r.x1) & (cy >= r.y0) & (cy < r.y1)
                cands = cands.take(~is_crop_class | ~seen)
        parts.append(cands)
    merged = Candidates.concat(parts)
    return merged.take(nms(merged, iou)) if len(views) > 1 else merged


def to_detections(c: Candidates) -> list[Detection]:
    """Candidates as Detection records, best score first."""
    order = np.argsort(-c.scores, kind="stable")
    return [
        Detection(CLASS_NAMES[int(k)], float(s), float(x0), float(y0), float(x1), float(y1))
        for k, s, (x0, y0, x1, y1) in zip(
            c.classes[order], c.scores[order], c.boxes[order], strict=True
        )
    ]
