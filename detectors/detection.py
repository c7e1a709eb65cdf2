"""What the runtime detector reports: boxes in the camera frame's own pixels."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.scenes.labels import CLASS_NAMES

__all__ = ["CLASS_NAMES", "Detection"]


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected object; coordinates in pixels of the full camera frame it came from."""

    cls: str  # one of CLASS_NAMES
    score: float
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)
