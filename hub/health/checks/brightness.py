"""Black and over-exposed pictures; a dark picture outside open hours is a closed kitchen."""

from __future__ import annotations

from hub.config.health import CheckName, HealthThresholds

from ..model import Finding
from .picture import PictureStats

__all__ = ["judge_brightness"]


def judge_brightness(
    stats: PictureStats, th: HealthThresholds, *, open_now: bool
) -> tuple[Finding, Finding, bool]:
    """(black, overexposed, closed): closed is True for a dark picture of a closed kitchen."""
    dark = stats.mean < th.black_mean
    detail = f"mean grey {stats.mean:.0f}"
    if dark and not open_now:
        black = Finding(CheckName.BLACK, False, "closed", f"{detail}; kitchen closed")
        return black, Finding(CheckName.OVEREXPOSED, False), True
    black = Finding(CheckName.BLACK, dark, "dark_picture" if dark else "", detail)
    bright = stats.mean > th.overexposed_mean
    over = Finding(CheckName.OVEREXPOSED, bright, "overexposed" if bright else "", detail)
    return black, over, False
