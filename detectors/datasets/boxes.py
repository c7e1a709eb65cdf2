"""A label as a source states it: its name and a box in fractions of the image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from detectors.datasets.problems import BAD_BOX, Skip

__all__ = ["TOLERANCE", "LabelBox", "checked"]

# Labelling tools round and overshoot a little (-0.001, 1.0004): up to this much outside the
# image is clipped; more than that is a box that belongs to some other picture.
TOLERANCE: Final = 0.01


@dataclass(frozen=True, slots=True)
class LabelBox:
    """(x0, y0) to (x1, y1) in fractions of the image's width and height, clipped to 0..1."""

    name: str
    x0: float
    y0: float
    x1: float
    y1: float


def checked(name: str, x0: float, y0: float, x1: float, y1: float, where: str) -> LabelBox:
    """The box clipped to the image, or Skip(BAD_BOX) when it is empty or lies outside it."""
    low, high = -TOLERANCE, 1 + TOLERANCE
    if not all(low <= v <= high for v in (x0, y0, x1, y1)):
        raise Skip(BAD_BOX, f"{where}: ({x0:.3f}, {y0:.3f})-({x1:.3f}, {y1:.3f}) is outside 0..1")
    if x1 <= x0 or y1 <= y0:
        raise Skip(BAD_BOX, f"{where}: empty box ({x0:.3f}, {y0:.3f})-({x1:.3f}, {y1:.3f})")
    return LabelBox(name, _clip(x0), _clip(y0), _clip(x1), _clip(y1))


def _clip(v: float) -> float:
    return min(1.0, max(0.0, v))
