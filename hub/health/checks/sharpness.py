"""A blurred lens (out of focus, fogged, dirty): sharpness far below the camera's own normal."""

from __future__ import annotations

from hub.config.health import CheckName, HealthThresholds

from ..model import Finding
from .picture import PictureStats

__all__ = ["judge_blur"]


def judge_blur(stats: PictureStats, baseline: float | None, th: HealthThresholds) -> Finding:
    """Relative to the baseline only: scenes differ too much for an absolute threshold."""
    if baseline is None or baseline <= 0:
        return Finding(CheckName.BLURRED, None, "learning")
    ratio = stats.sharpness / baseline
    blurred = ratio < th.blur_ratio
    detail = f"sharpness {ratio:.0%} of normal"
    return Finding(CheckName.BLURRED, blurred, "low_sharpness" if blurred else "", detail)
