"""Boxes and polygons in pixels or fractions: the few measures the tracker and rules need."""

from __future__ import annotations

from collections.abc import Sequence

from detectors.detection import Detection

__all__ = [
    "Box",
    "box_of",
    "center",
    "containment",
    "expand",
    "inside_polygon",
    "iou",
    "overlap_of_smaller",
]

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def box_of(det: Detection) -> Box:
    return (det.x0, det.y0, det.x1, det.y1)


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def iou(a: Box, b: Box) -> float:
    inter = _overlap(a, b)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def containment(inner: Box, outer: Box) -> float:
    """The share of `inner` that lies inside `outer` (1.0: wholly inside)."""
    area = _area(inner)
    return _overlap(inner, outer) / area if area > 0 else 0.0


def overlap_of_smaller(a: Box, b: Box) -> float:
    """The share of the smaller box inside the other (a hat box holds the face below it)."""
    smaller = min(_area(a), _area(b))
    return _overlap(a, b) / smaller if smaller > 0 else 0.0


def expand(b: Box, frac: float) -> Box:
    """`b` grown by `frac` of its width and height on every side."""
    dx, dy = (b[2] - b[0]) * frac, (b[3] - b[1]) * frac
    return (b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy)


def center(b: Box) -> tuple[float, float]:
    return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)


def inside_polygon(x: float, y: float, polygon: Sequence[tuple[float, float]]) -> bool:
    """Even-odd ray casting; points on an edge may fall either way."""
    inside = False
    j = len(polygon) - 1
    for i, (xi, yi) in enumerate(polygon):
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside
