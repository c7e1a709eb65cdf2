"""The detector's class map and YOLO label lines."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLASS_NAMES", "Box", "class_id", "to_yolo_line"]

# Order is the model's output index: never reorder, only append.
CLASS_NAMES: tuple[str, ...] = (
    "person",
    "head_chef_hat",
    "head_bare",
    "face_mask",
    "face_bare",
    "hand_gloved",
    "hand_bare",
    "rat",
    "cockroach",
)

# Boxes clipped to under 2 px on a side are noise for the detector, not objects.
_MIN_SIDE_PX = 2.0


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in pixel coordinates (x0, y0) inclusive to (x1, y1) exclusive."""

    cls: str
    x0: float
    y0: float
    x1: float
    y1: float

    def clipped(self, width: int, height: int) -> Box | None:
        x0, x1 = max(0.0, self.x0), min(float(width), self.x1)
        y0, y1 = max(0.0, self.y0), min(float(height), self.y1)
        if x1 - x0 < _MIN_SIDE_PX or y1 - y0 < _MIN_SIDE_PX:
            return None
        return Box(self.cls, x0, y0, x1, y1)


def class_id(name: str) -> int:
    return CLASS_NAMES.index(name)


def to_yolo_line(box: Box, width: int, height: int) -> str | None:
    """`cls cx cy w h` normalised to the image, or None when the box falls outside it."""
    clipped = box.clipped(width, height)
    if clipped is None:
        return None
    cx = (clipped.x0 + clipped.x1) / 2 / width
    cy = (clipped.y0 + clipped.y1) / 2 / height
    bw = (clipped.x1 - clipped.x0) / width
    bh = (clipped.y1 - clipped.y0) / height
    return f"{class_id(box.cls)} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}"
