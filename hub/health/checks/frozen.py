"""A frozen picture: successive samples identical while packets still flow."""

from __future__ import annotations

from hub.config.health import CheckName, HealthThresholds

from ..model import Finding
from .picture import PictureStats

__all__ = ["judge_frozen"]


def judge_frozen(difference: float | None, stats: PictureStats, th: HealthThresholds) -> Finding:
    """`difference`: mean grey change since the previous sample (None: no previous one).

    A uniform picture (black, covered) never changes either; those checks explain it, so it
    is not judged here.
    """
    if difference is None or stats.std < th.covered_std:
        return Finding(CheckName.FROZEN, None)
    frozen = difference < th.frozen_diff
    detail = f"change between samples {difference:.2f} grey levels"
    return Finding(CheckName.FROZEN, frozen, "identical_frames" if frozen else "", detail)
